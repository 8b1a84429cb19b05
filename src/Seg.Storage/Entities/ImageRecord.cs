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

    /// <summary>Every resolved render parameter as JSON (jsonb); the columns below repeat the main ones.</summary>
    public string ParametersJson { get; set; } = "{}";

    /// <summary>Positive prompt.</summary>
    public string Prompt { get; set; } = "";

    /// <summary>Negative prompt ("" when none).</summary>
    public string NegativePrompt { get; set; } = "";

    /// <summary>Noise seed (torch.Generator("cpu").manual_seed).</summary>
    public long Seed { get; set; }

    /// <summary>Requested image width in pixels.</summary>
    public int Width { get; set; }

    /// <summary>Requested image height in pixels.</summary>
    public int Height { get; set; }

    /// <summary>Number of denoising steps.</summary>
    public int Steps { get; set; }

    /// <summary>Scheduler name (e.g. <c>euler</c>).</summary>
    public string Scheduler { get; set; } = "";

    /// <summary>Classifier-free guidance scale (&lt;= 1 means no CFG).</summary>
    public double GuidanceScale { get; set; }

    /// <summary>SEG guidance scale (0 means no SEG).</summary>
    public double SegScale { get; set; }

    /// <summary>
    /// Standard deviation of the SEG query blur. Infinite blur (the default; the official code's
    /// "sigma above 9999") is stored as <see cref="double.PositiveInfinity"/>, which PostgreSQL keeps as
    /// <c>'Infinity'</c>: it sorts after every finite sigma and can be filtered with
    /// <c>seg_blur_sigma = 'Infinity'</c>, which a NULL could not.
    /// </summary>
    public double SegBlurSigma { get; set; }

    /// <summary>SEG layer selection as given (e.g. <c>mid</c> or <c>d4,m0,u12</c>).</summary>
    public string SegLayers { get; set; } = "";

    /// <summary>Model name.</summary>
    public string ModelName { get; set; } = "";

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
}
