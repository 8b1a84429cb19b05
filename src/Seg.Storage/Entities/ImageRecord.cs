using Seg.Parameters;

namespace Seg.Storage.Entities;

/// <summary>
/// Provenance of one rendered image (one per task): every parameter, the model and its file hashes,
/// the software and device that made it, stage timings, and where the PNG is.
/// </summary>
public sealed class ImageRecord
{
    /// <summary>Task that produced the image; the primary key, so a provenance insert is idempotent.</summary>
    public Guid TaskId { get; set; }

    /// <summary>Sweep of the task.</summary>
    public Guid SweepId { get; set; }

    /// <summary>Every resolved render parameter as JSON (jsonb), as the task carried it; <see cref="Parameters"/> has them as columns.</summary>
    public string ParametersJson { get; set; } = "{}";

    /// <summary>
    /// Every render parameter, one column each, named as the parameter (<c>seed</c>, <c>seg_blur_sigma</c>, ...):
    /// an EF Core complex property whose columns follow from <see cref="ParameterDefinitions"/>. Infinite blur (the
    /// default; the official code's "sigma above 9999") is stored as <see cref="double.PositiveInfinity"/>, which
    /// PostgreSQL keeps as <c>'Infinity'</c>: it sorts after every finite sigma and can be filtered with
    /// <c>seg_blur_sigma = 'Infinity'</c>, which a NULL could not. <see cref="RenderParameters.Model"/> is the model
    /// name as the task gave it.
    /// </summary>
    public RenderParameters Parameters { get; set; } = ParameterDefinitions.Defaults;

    /// <summary>Hashes of the model files as a JSON object, relative path to hex hash (jsonb).</summary>
    public string ModelFileHashesJson { get; set; } = "{}";

    /// <summary>Version of the SEG graph patch the UNet carried.</summary>
    public string PatchVersion { get; set; } = "";

    /// <summary>Version of the Seg farm software that rendered.</summary>
    public string SoftwareVersion { get; set; } = "";

    /// <summary>Worker id that rendered.</summary>
    public string WorkerId { get; set; } = "";

    /// <summary>Host name of the worker.</summary>
    public string WorkerHost { get; set; } = "";

    /// <summary>Device that ran the UNet (e.g. <c>cuda:0 NVIDIA L4</c> or <c>cpu</c>).</summary>
    public string Device { get; set; } = "";

    /// <summary>ONNX Runtime version.</summary>
    public string OnnxRuntimeVersion { get; set; } = "";

    /// <summary>ONNX Runtime execution provider (e.g. <c>CUDAExecutionProvider</c>).</summary>
    public string ExecutionProvider { get; set; } = "";

    /// <summary>Seconds per stage as a JSON object, stage name to seconds (jsonb).</summary>
    public string TimingsJson { get; set; } = "{}";

    /// <summary>SHA-256 of the PNG file, lower-case hex.</summary>
    public string ImageSha256 { get; set; } = "";

    /// <summary>Blob name of the PNG in the store.</summary>
    public string BlobName { get; set; } = "";

    /// <summary>URI of the PNG.</summary>
    public string BlobUri { get; set; } = "";

    /// <summary>Width of the stored image in pixels.</summary>
    public int ImageWidth { get; set; }

    /// <summary>Height of the stored image in pixels.</summary>
    public int ImageHeight { get; set; }

    /// <summary>Size of the PNG file in bytes.</summary>
    public long ImageBytes { get; set; }

    /// <summary>When the image was stored (UTC).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// OpenTelemetry trace id (32 lower-case hex digits) of the render that stored this image, so a dashboard can go
    /// from an image to its trace; null when tracing was off.
    /// </summary>
    public string? TraceId { get; set; }
}
