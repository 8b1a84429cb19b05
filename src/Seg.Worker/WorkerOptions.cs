using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Seg.Contracts.Messages;
using Seg.Pipeline.Runtime;
using Seg.ServiceDefaults;

namespace Seg.Worker;

/// <summary>How a worker renders: the real pipeline, or a fake image for benchmarking the farm.</summary>
public enum RenderMode
{
    /// <summary>The SEG SDXL ONNX pipeline (the default, and the only mode that makes real images).</summary>
    Pipeline,

    /// <summary>
    /// A fixed cheap render: a small deterministic PNG made without ONNX, only for benchmarking the farm
    /// (queue, database, blob store). Never the default; heartbeats and provenance say so.
    /// </summary>
    Fake,
}

/// <summary>
/// Settings of a worker, bound from the <c>Worker</c> configuration section and checked at start as the coordinator's
/// are: init properties, DataAnnotations (<c>ValidateDataAnnotations().ValidateOnStart()</c>) whose messages name the
/// configuration key, and <see cref="WorkerOptionsValidator"/> for the rules across fields (the devices, the CPU slots).
/// </summary>
public sealed record WorkerOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Worker";

    /// <summary>The worker's id in task rows, provenance and heartbeats; <c>&lt;host&gt;-&lt;pid&gt;</c> when empty.</summary>
    public string WorkerId { get; init; } = "";

    /// <summary>
    /// Devices to render on, one pipeline slot each: <c>cuda:0</c>, <c>cuda:1</c>, ... or <c>cpu</c>
    /// (which stands for <see cref="CpuSlots"/> slots). Empty means <c>["cpu"]</c>.
    /// </summary>
    public IReadOnlyList<string> Devices { get; init; } = [];

    /// <summary>Slots (parallel renders) for a <c>cpu</c> device; they share the cores.</summary>
    public int CpuSlots { get; init; } = 1;

    /// <summary>Folder under which the model names of tasks resolve (<c>model: sdxl-base</c> is <c>ModelRoot/sdxl-base</c>).</summary>
    [Required(ErrorMessage = "Worker:ModelRoot must not be empty")]
    public string ModelRoot { get; init; } = "/models";

    /// <summary>
    /// Whether task model and VAE names may be absolute paths anywhere on the host. Default false: names are folders
    /// under <see cref="ModelRoot"/> (the rule of <c>Seg.Parameters.ModelNames</c>, which the API checks too).
    /// </summary>
    public bool AllowAbsoluteModelPaths { get; init; }

    /// <summary>Cache folder: the tiny model (<c>model: tiny</c>) and the SEG-patched UNets live under it.</summary>
    [Required(ErrorMessage = "Worker:CacheFolder must not be empty")]
    public string CacheFolder { get; init; } = Path.Combine(Path.GetTempPath(), "seg-worker-cache");

    /// <summary>Run on the CPU when a CUDA device cannot be loaded, instead of refusing to start.</summary>
    public bool AllowCpuFallback { get; init; }

    /// <summary>CUDA provider settings for every <c>cuda:N</c> device (<c>Worker:Cuda:ConvAlgoSearch</c>, ...).</summary>
    public CudaProviderSettings Cuda { get; init; } = new();

    /// <summary>Most models a slot keeps loaded; the least recently used one is unloaded beyond it.</summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "Worker:MaxModelsPerSlot must be >= {1}")]
    public int MaxModelsPerSlot { get; init; } = 1;

    /// <summary>
    /// Seconds a stopping worker (SIGTERM) waits for the tasks in hand; after that their renders are cancelled
    /// and the tasks given back to the queue. Keep it below Kubernetes' terminationGracePeriodSeconds minus 30.
    /// </summary>
    [SettingRange(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "Worker:DrainTimeoutSeconds must be > {1}")]
    public double DrainTimeoutSeconds { get; init; } = 120;

    /// <summary>
    /// <see cref="RenderMode.Pipeline"/> (default) or <see cref="RenderMode.Fake"/>, which only benchmarks the
    /// farm: its images are not real renders.
    /// </summary>
    public RenderMode RenderMode { get; init; } = RenderMode.Pipeline;

    /// <summary>In fake mode, how long each fake render holds its slot, in seconds, to emulate device time.</summary>
    [SettingRange(0.0, double.MaxValue, ErrorMessage = "Worker:FakeRenderSeconds must be >= {1}")]
    public double FakeRenderSeconds { get; init; }

    /// <summary>The queue to consume tasks from (one farm per queue; tests use their own).</summary>
    [Required(ErrorMessage = "Worker:QueueName must not be empty")]
    public string QueueName { get; init; } = RenderTaskQueue.DefaultName;

    /// <summary>In-process retries of transient faults (database, blob store, broker), with exponential backoff.</summary>
    [ValidateSection(Section + ":" + RetryOptions.Subsection)]
    public WorkerRetryOptions Retry { get; init; } = new();

    /// <summary>The worker id to use: <see cref="WorkerId"/>, or <c>&lt;host&gt;-&lt;pid&gt;</c> when it is empty.</summary>
    public string ResolvedWorkerId => string.IsNullOrWhiteSpace(WorkerId)
        ? $"{Environment.MachineName}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}"
        : WorkerId.Trim();

    /// <summary>The configured devices, <c>["cpu"]</c> when none are.</summary>
    public IReadOnlyList<string> ResolvedDevices => Devices.Count == 0 ? ["cpu"] : Devices.Select(d => d.Trim().ToLowerInvariant()).ToList();

    /// <summary>Number of slots: one per CUDA device, <see cref="CpuSlots"/> per <c>cpu</c> entry.</summary>
    public int SlotCount => ResolvedDevices.Sum(d => d == "cpu" ? Math.Max(CpuSlots, 0) : 1);

    /// <summary>Name of the render mode as heartbeats and provenance write it (<c>pipeline</c> or <c>fake</c>).</summary>
    public string RenderModeName => RenderMode.ToString().ToLowerInvariant();
}

/// <summary>
/// The worker's retries of transient faults (<see cref="RetryOptions"/> with its defaults: 5 retries from 0.5 s to
/// 30 s), and the redelivery rounds that follow them.
/// </summary>
public sealed record WorkerRetryOptions : RetryOptions
{
    /// <summary>
    /// After the in-place retries, the first wait (seconds) before the task is given back and its message sent again;
    /// each further round doubles it up to <see cref="RedeliveryMaxSeconds"/>. A transient fault never fails a task: an
    /// outage of the database or the blob store is waited out, however long it lasts. Default 5.
    /// </summary>
    [SettingRange(0.1, 86_400.0, ErrorMessage = "must be between {1} and {2} seconds")]
    public double RedeliveryMinSeconds { get; init; } = 5;

    /// <summary>Longest wait between two redelivery rounds, in seconds. Default 60.</summary>
    [SettingRange(0.1, 86_400.0, ErrorMessage = "must be between {1} and {2} seconds")]
    public double RedeliveryMaxSeconds { get; init; } = 60;
}
