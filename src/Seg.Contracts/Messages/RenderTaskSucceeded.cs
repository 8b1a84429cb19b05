namespace Seg.Contracts.Messages;

/// <summary>
/// Event from a worker: an image is rendered, stored and its provenance recorded.
/// MassTransit names it <c>urn:message:Seg.Contracts.Messages:RenderTaskSucceeded</c>: keep the namespace and name.
/// </summary>
/// <param name="TaskId">The task.</param>
/// <param name="SweepId">The task's sweep.</param>
/// <param name="BlobUri">Where the PNG is stored.</param>
/// <param name="ImageSha256">SHA-256 of the PNG bytes, lower-case hex.</param>
/// <param name="Worker">The worker that rendered it.</param>
/// <param name="Device">The device it ran on (e.g. <c>cuda:0</c>, <c>cpu</c>).</param>
/// <param name="StageSeconds">Wall-clock seconds per stage (e.g. <c>encode_prompt</c>, <c>denoise</c>, <c>decode</c>, <c>upload</c>).</param>
/// <param name="GpuSeconds">Seconds the task held its device, for the sweep's accounting.</param>
public sealed record RenderTaskSucceeded(
    Guid TaskId,
    Guid SweepId,
    Uri BlobUri,
    string ImageSha256,
    string Worker,
    string Device,
    IReadOnlyDictionary<string, double> StageSeconds,
    double GpuSeconds);
