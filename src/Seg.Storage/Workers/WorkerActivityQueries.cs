using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;

namespace Seg.Storage.Workers;

/// <summary>A (worker, sweep) pair whose last ended tasks all failed.</summary>
/// <param name="WorkerId">The worker.</param>
/// <param name="SweepId">The sweep.</param>
/// <param name="Failures">How many of its last tasks failed in a row (the streak asked for).</param>
public sealed record FailureStreak(string WorkerId, Guid SweepId, int Failures);

/// <summary>What the workers are doing, read from the heartbeat rows and the task rows.</summary>
/// <param name="db">Database context (scoped).</param>
public sealed class WorkerActivityQueries(SegDbContext db)
{
    /// <summary>Every worker seen, by id.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The heartbeat rows, not tracked.</returns>
    public async Task<IReadOnlyList<WorkerRecord>> ListAsync(CancellationToken cancellationToken) =>
        await db.Workers.AsNoTracking().OrderBy(w => w.WorkerId).ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Running tasks per worker (served by the partial index of running tasks by worker).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Worker id to running tasks; idle workers are absent.</returns>
    public async Task<IReadOnlyDictionary<string, int>> RunningCountsAsync(CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.WorkerId != null)
            .GroupBy(t => t.WorkerId!)
            .Select(g => new { WorkerId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.WorkerId, x => x.Count, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// (worker, sweep) pairs whose last <paramref name="streak"/> ended tasks all failed, for sweeps that are not over
    /// (or failed, awaiting a requeue). The task rows already say who ran what, so no extra state is kept.
    /// </summary>
    /// <remarks>
    /// EF has no translation for window functions, so this is SQL, written to mean the same on PostgreSQL and SQLite
    /// (SQLite has window functions, but neither <c>::int</c> nor <c>bool_and</c>). Timestamps sort in time order on
    /// both: native on PostgreSQL, sortable UTC text on SQLite.
    /// </remarks>
    /// <param name="streak">Failures in a row that make a streak (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The pairs.</returns>
    public async Task<IReadOnlyList<FailureStreak>> FailureStreaksAsync(int streak, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(streak);
        return await db.Database.SqlQuery<FailureStreak>($"""
            SELECT worker_id, sweep_id, CAST(count(*) AS integer) AS failures
            FROM (
                SELECT t.worker_id, t.sweep_id, t.status,
                       row_number() OVER (PARTITION BY t.worker_id, t.sweep_id ORDER BY t.finished_at DESC) AS recent
                FROM render_tasks t JOIN sweeps s ON s.id = t.sweep_id
                WHERE s.status IN ('pending', 'running', 'paused', 'failed')
                  AND t.worker_id IS NOT NULL AND t.finished_at IS NOT NULL AND t.status IN ('succeeded', 'failed')
            ) ended
            WHERE recent <= {streak}
            GROUP BY worker_id, sweep_id
            HAVING count(*) = {streak} AND min(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) = 1
            """).ToListAsync(cancellationToken).ConfigureAwait(false);
    }
}
