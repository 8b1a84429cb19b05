using System.Text.Json;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage.Workers;

namespace Seg.Coordinator.Workers;

/// <summary>Reads the workers: heartbeat rows, health, running tasks and failure streaks.</summary>
/// <param name="activity">Storage's reads of the heartbeat and task rows.</param>
/// <param name="options">Coordinator options (failure streak).</param>
/// <param name="heartbeats">The heartbeat interval (a worker is stale after three silent ones).</param>
/// <param name="time">Clock.</param>
public sealed class WorkerQueries(WorkerActivityQueries activity, IOptions<CoordinatorOptions> options, IOptions<HeartbeatOptions> heartbeats, TimeProvider time)
{
    /// <summary>Every worker seen, by id.</summary>
    public async Task<IReadOnlyList<WorkerView>> ListAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var staleAfter = heartbeats.Value.StaleAfter;
        var workers = await activity.ListAsync(cancellationToken).ConfigureAwait(false);
        var running = await activity.RunningCountsAsync(cancellationToken).ConfigureAwait(false);
        var failing = (await activity.FailureStreaksAsync(settings.WorkerFailureStreak, cancellationToken).ConfigureAwait(false))
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
}
