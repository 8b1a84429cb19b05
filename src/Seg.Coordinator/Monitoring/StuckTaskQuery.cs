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
        var running = await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.StartedAt != null && (sweepId == null || t.SweepId == sweepId))
            .Select(t => new { t.Id, t.SweepId, t.WorkerId, StartedAt = t.StartedAt!.Value })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (running.Count == 0)
        {
            return [];
        }

        var sweepIds = running.Select(t => t.SweepId).Distinct().ToArray();
        // EF has no translation for percentile_cont. Result columns are snake_case, as the naming convention maps them.
        var medians = await db.Database.SqlQuery<SweepMedian>($"""
            SELECT sweep_id,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)::double precision) AS median_seconds
            FROM render_tasks
            WHERE sweep_id = ANY({sweepIds}) AND status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL
            GROUP BY sweep_id
            """).ToDictionaryAsync(m => m.SweepId, m => m.MedianSeconds, cancellationToken).ConfigureAwait(false);

        var settings = options.Value;
        var now = time.GetUtcNow();
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

    private sealed record SweepMedian(Guid SweepId, double MedianSeconds);
}
