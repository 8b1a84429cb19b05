namespace Seg.Coordinator.Workers;

/// <summary>Whether a worker is sending heartbeats.</summary>
public enum WorkerHealth
{
    /// <summary>Its last heartbeat is recent.</summary>
    Healthy,

    /// <summary>No heartbeat for three heartbeat intervals: stopped, hung or cut off.</summary>
    Stale,
}

/// <summary>A sweep whose last tasks on one worker all failed.</summary>
/// <param name="SweepId">The sweep.</param>
/// <param name="ConsecutiveFailures">How many of its last tasks on the worker failed in a row (the configured streak).</param>
public sealed record FailingSweep(Guid SweepId, int ConsecutiveFailures);

/// <summary>A worker as the API shows it.</summary>
/// <param name="WorkerId">The worker's id.</param>
/// <param name="Host">Its host (pod).</param>
/// <param name="Health">Healthy or stale.</param>
/// <param name="LastHeartbeatAt">When its last heartbeat arrived.</param>
/// <param name="SecondsSinceHeartbeat">Seconds since then.</param>
/// <param name="Devices">Its devices.</param>
/// <param name="Slots">Tasks it renders at once.</param>
/// <param name="Busy">Slots busy at the last heartbeat.</param>
/// <param name="ImagesPerMinute">Recent throughput it reported.</param>
/// <param name="TasksDone">Tasks it finished since it started.</param>
/// <param name="ModelsCached">Models with sessions loaded.</param>
/// <param name="Version">Its software version.</param>
/// <param name="FirstSeenAt">Its first heartbeat.</param>
/// <param name="RunningTasks">Tasks marked running on it in the database.</param>
/// <param name="FailingSweeps">Sweeps whose last tasks on this worker all failed.</param>
public sealed record WorkerView(
    string WorkerId,
    string Host,
    WorkerHealth Health,
    DateTimeOffset LastHeartbeatAt,
    double SecondsSinceHeartbeat,
    IReadOnlyList<string> Devices,
    int Slots,
    int Busy,
    double ImagesPerMinute,
    long TasksDone,
    IReadOnlyList<string> ModelsCached,
    string Version,
    DateTimeOffset FirstSeenAt,
    int RunningTasks,
    IReadOnlyList<FailingSweep> FailingSweeps);
