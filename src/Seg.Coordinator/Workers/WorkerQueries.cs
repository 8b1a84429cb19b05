using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Workers;

/// <summary>Reads the workers: heartbeat rows, health, running tasks and failure streaks.</summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="options">Coordinator options (failure streak).</param>
/// <param name="heartbeats">The heartbeat interval (a worker is stale after three silent ones).</param>
/// <param name="time">Clock.</param>
public sealed class WorkerQueries(SegDbContext db, IOptions<CoordinatorOptions> options, IOptions<HeartbeatOptions> heartbeats, TimeProvider time)
{
    /// <summary>Every worker seen, by id.</summary>
    public async Task<IReadOnlyList<WorkerView>> ListAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var staleAfter = heartbeats.Value.StaleAfter;
        var workers = await db.Workers.AsNoTracking().OrderBy(w => w.WorkerId).ToListAsync(cancellationToken).ConfigureAwait(false);
        var running = await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.WorkerId != null)
            .GroupBy(t => t.WorkerId!)
            .Select(g => new { WorkerId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.WorkerId, x => x.Count, cancellationToken).ConfigureAwait(false);
        var failing = (await FailureStreaksAsync(settings.WorkerFailureStreak, cancellationToken).ConfigureAwait(false))
            .ToLookup(s => s.WorkerId);

        return [.. workers.Select(w => new WorkerView(
            w.WorkerId,
            w.Host,
            now - w.LastHeartbeatAt > staleAfter ? WorkerHealth.Stale : WorkerHealth.Healthy,
            w.LastHeartbeatAt,
            Math.Max(0, (now - w.LastHeartbeatAt).TotalSeconds),
            JsonSerializer.Deserialize<string[]>(w.DevicesJson) ?? [],
            w.Slots,
            w.Busy,
            w.ImagesPerMinute,
            w.TasksDone,
            JsonSerializer.Deserialize<string[]>(w.ModelsCachedJson) ?? [],
            w.Version,
            w.FirstSeenAt,
            running.GetValueOrDefault(w.WorkerId),
            [.. failing[w.WorkerId].Select(s => new FailingSweep(s.SweepId, s.Failures))]))];
    }

    /// <summary>
    /// (worker, sweep) pairs whose last <paramref name="streak"/> ended tasks all failed, for sweeps that are not over
    /// (or failed, awaiting a requeue). The task rows already say who ran what, so no extra state is kept.
    /// </summary>
    /// <remarks>
    /// EF has no translation for window functions, so this is SQL, written to mean the same on PostgreSQL and SQLite
    /// (SQLite has window functions, but neither <c>::int</c> nor <c>bool_and</c>). Timestamps sort in time order on
    /// both: native on PostgreSQL, sortable UTC text on SQLite.
    /// </remarks>
    private async Task<List<FailureStreak>> FailureStreaksAsync(int streak, CancellationToken cancellationToken) =>
        await db.Database.SqlQuery<FailureStreak>($"""
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

    private sealed record FailureStreak(string WorkerId, Guid SweepId, int Failures);
}
