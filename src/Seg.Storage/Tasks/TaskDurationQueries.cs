using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;

namespace Seg.Storage.Tasks;

/// <summary>A running task: who runs it and since when.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="SweepId">Its sweep.</param>
/// <param name="WorkerId">The worker running it.</param>
/// <param name="StartedAt">When the worker started it.</param>
public sealed record RunningTask(Guid TaskId, Guid SweepId, string? WorkerId, DateTimeOffset StartedAt);

/// <summary>How long tasks run: the running ones past a time, and the median render of sweeps (for stuck-task checks).</summary>
/// <param name="db">Database context (scoped).</param>
public sealed class TaskDurationQueries(SegDbContext db)
{
    /// <summary>Tasks running since before <paramref name="startedBefore"/>, of one sweep or of all.</summary>
    /// <param name="sweepId">The sweep, or null for every sweep.</param>
    /// <param name="startedBefore">Only tasks started before this.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The tasks (running tasks are few: at most about MaxInFlight).</returns>
    public async Task<IReadOnlyList<RunningTask>> RunningSinceAsync(Guid? sweepId, DateTimeOffset startedBefore, CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.StartedAt < startedBefore && (sweepId == null || t.SweepId == sweepId))
            .Select(t => new RunningTask(t.Id, t.SweepId, t.WorkerId, t.StartedAt!.Value))
            .ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The median duration, in seconds, of the succeeded tasks of each sweep that has any (the 50th percentile,
    /// interpolated: the mean of the middle two of an even count). EF has no translation for it, so it is SQL per
    /// provider; result columns are snake_case, as the naming convention maps them.
    /// </summary>
    /// <param name="sweepIds">The sweeps.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Median seconds by sweep; sweeps without a succeeded task are absent.</returns>
    public async Task<IReadOnlyDictionary<Guid, double>> MedianSecondsAsync(IReadOnlyCollection<Guid> sweepIds, CancellationToken cancellationToken)
    {
        var ids = sweepIds.ToArray();
        if (db.Provider == SegDatabaseProvider.PostgreSql)
        {
            return await db.Database.SqlQuery<SweepMedian>($"""
                SELECT sweep_id,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)::double precision) AS median_seconds
                FROM render_tasks
                WHERE sweep_id = ANY({ids}) AND status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL
                GROUP BY sweep_id
                """).ToDictionaryAsync(m => m.SweepId, m => m.MedianSeconds, cancellationToken).ConfigureAwait(false);
        }

        // SQLite has no percentile_cont: number the sorted durations and average the middle one or two. Timestamps are
        // UTC text there; julianday reads them (days, as a double: steps of about 50 microseconds at today's dates).
        // One query per sweep: sweeps with running tasks are few (at most MaxInFlight).
        var medians = new Dictionary<Guid, double>(ids.Length);
        foreach (var sweepId in ids)
        {
            var median = await db.Database.SqlQuery<double?>($"""
                SELECT avg(seconds) AS "Value"
                FROM (
                    SELECT seconds, row_number() OVER (ORDER BY seconds) AS position, count(*) OVER () AS total
                    FROM (
                        SELECT (julianday(finished_at) - julianday(started_at)) * 86400.0 AS seconds
                        FROM render_tasks
                        WHERE sweep_id = {sweepId} AND status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL
                    ) durations
                ) ranked
                WHERE position IN ((total + 1) / 2, (total + 2) / 2)
                """).SingleAsync(cancellationToken).ConfigureAwait(false);
            if (median is { } seconds)
            {
                medians[sweepId] = seconds;
            }
        }

        return medians;
    }

    private sealed record SweepMedian(Guid SweepId, double MedianSeconds);
}
