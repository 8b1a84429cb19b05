using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Monitoring;

/// <summary>A running task that takes far longer than its sweep's renders usually do.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="SweepId">Its sweep.</param>
/// <param name="WorkerId">The worker running it.</param>
/// <param name="StartedAt">When the worker started it.</param>
/// <param name="RunningSeconds">How long it has been running.</param>
/// <param name="ExpectedSeconds">The limit it passed: the factor times the sweep's median render, at least the floor.</param>
public sealed record StuckTask(Guid TaskId, Guid SweepId, string? WorkerId, DateTimeOffset StartedAt, double RunningSeconds, double ExpectedSeconds);

/// <summary>
/// Finds stuck tasks: running longer than <see cref="CoordinatorOptions.StuckTaskFactor"/> times the median duration
/// of the sweep's succeeded tasks, and never before <see cref="CoordinatorOptions.StuckTaskFloorSeconds"/>.
/// Running tasks are few (at most about <see cref="CoordinatorOptions.MaxInFlight"/>), so they are all read.
/// </summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="options">Coordinator options.</param>
/// <param name="time">Clock.</param>
public sealed class StuckTaskQuery(SegDbContext db, IOptions<CoordinatorOptions> options, TimeProvider time)
{
    /// <summary>Stuck tasks, of one sweep or of all.</summary>
    /// <param name="sweepId">The sweep, or null for every sweep.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<StuckTask>> FindAsync(Guid? sweepId, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        // No task is stuck before the floor, so only tasks past it are read, and the medians (a sort of every finished
        // task of the sweep, milliseconds per call on large sweeps, run on every GET of a sweep) are computed only
        // when there are such tasks: almost never.
        var pastFloor = now - TimeSpan.FromSeconds(settings.StuckTaskFloorSeconds);
        var running = await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.StartedAt < pastFloor
                && (sweepId == null || t.SweepId == sweepId))
            .Select(t => new { t.Id, t.SweepId, t.WorkerId, StartedAt = t.StartedAt!.Value })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (running.Count == 0)
        {
            return [];
        }

        var medians = await MedianSecondsAsync([.. running.Select(t => t.SweepId).Distinct()], cancellationToken).ConfigureAwait(false);
        return [.. running
            .Select(t =>
            {
                var median = medians.GetValueOrDefault(t.SweepId);
                var expected = Math.Max(settings.StuckTaskFloorSeconds, settings.StuckTaskFactor * median);
                return new StuckTask(t.Id, t.SweepId, t.WorkerId, t.StartedAt, (now - t.StartedAt).TotalSeconds, expected);
            })
            .Where(t => t.RunningSeconds > t.ExpectedSeconds)
            .OrderByDescending(t => t.RunningSeconds)];
    }

    /// <summary>
    /// The median duration, in seconds, of the succeeded tasks of each sweep that has any (the 50th percentile,
    /// interpolated: the mean of the middle two of an even count). EF has no translation for it, so it is SQL per
    /// provider; result columns are snake_case, as the naming convention maps them.
    /// </summary>
    private async Task<Dictionary<Guid, double>> MedianSecondsAsync(Guid[] sweepIds, CancellationToken cancellationToken)
    {
        if (db.Provider == SegDatabaseProvider.PostgreSql)
        {
            return await db.Database.SqlQuery<SweepMedian>($"""
                SELECT sweep_id,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)::double precision) AS median_seconds
                FROM render_tasks
                WHERE sweep_id = ANY({sweepIds}) AND status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL
                GROUP BY sweep_id
                """).ToDictionaryAsync(m => m.SweepId, m => m.MedianSeconds, cancellationToken).ConfigureAwait(false);
        }

        // SQLite has no percentile_cont: number the sorted durations and average the middle one or two. Timestamps are
        // UTC text there; julianday reads them (days, as a double: steps of about 50 microseconds at today's dates).
        // One query per sweep: sweeps with running tasks are few (at most MaxInFlight).
        var medians = new Dictionary<Guid, double>(sweepIds.Length);
        foreach (var sweepId in sweepIds)
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
