using Microsoft.Extensions.Options;
using Seg.Storage.Tasks;

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
/// Storage's <see cref="TaskDurationQueries"/> reads the running tasks and the medians.
/// </summary>
/// <param name="durations">Running tasks and median renders.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="time">Clock.</param>
public sealed class StuckTaskQuery(TaskDurationQueries durations, IOptions<CoordinatorOptions> options, TimeProvider time)
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
        var running = await durations.RunningSinceAsync(sweepId, pastFloor, cancellationToken).ConfigureAwait(false);
        if (running.Count == 0)
        {
            return [];
        }

        var medians = await durations.MedianSecondsAsync([.. running.Select(t => t.SweepId).Distinct()], cancellationToken).ConfigureAwait(false);
        return [.. running
            .Select(t =>
            {
                var median = medians.GetValueOrDefault(t.SweepId);
                var expected = Math.Max(settings.StuckTaskFloorSeconds, settings.StuckTaskFactor * median);
                return new StuckTask(t.TaskId, t.SweepId, t.WorkerId, t.StartedAt, (now - t.StartedAt).TotalSeconds, expected);
            })
            .Where(t => t.RunningSeconds > t.ExpectedSeconds)
            .OrderByDescending(t => t.RunningSeconds)];
    }
}
