namespace Seg.Contracts.Messages;

/// <summary>
/// Event from a worker, sent periodically: its health, devices and throughput, for the coordinator's dashboard.
/// MassTransit names it <c>urn:message:Seg.Contracts.Messages:WorkerHeartbeat</c>: keep the namespace and name.
/// </summary>
/// <param name="WorkerId">The worker's stable id.</param>
/// <param name="Host">The host (pod) it runs on.</param>
/// <param name="Devices">Its devices (e.g. <c>cuda:0</c>, <c>cpu</c>).</param>
/// <param name="Slots">How many tasks it renders at once (one per device).</param>
/// <param name="BusySlots">How many of them are rendering now.</param>
/// <param name="ModelsCached">Models with sessions loaded.</param>
/// <param name="TasksDone">Tasks finished since it started.</param>
/// <param name="ThroughputPerMinute">Images per minute, recent average.</param>
/// <param name="Version">The worker's software version.</param>
/// <param name="Timestamp">When the heartbeat was sent.</param>
public sealed record WorkerHeartbeat(
    string WorkerId,
    string Host,
    IReadOnlyList<string> Devices,
    int Slots,
    int BusySlots,
    IReadOnlyList<string> ModelsCached,
    long TasksDone,
    double ThroughputPerMinute,
    string Version,
    DateTimeOffset Timestamp)
{
    /// <summary>
    /// How the worker renders: <c>pipeline</c> (the SEG SDXL ONNX pipeline, the default) or <c>fake</c> (a fixed
    /// cheap image without ONNX, only for benchmarking the farm itself; its images are not real renders).
    /// </summary>
    public string RenderMode { get; init; } = "pipeline";
}
