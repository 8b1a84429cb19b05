using Seg.Contracts.Messages;

namespace Seg.Worker.Rendering;

/// <summary>Renders the image of one task on a leased slot: the pipeline, or the fake renderer for benchmarks.</summary>
public interface ITaskRenderer
{
    /// <summary>Renders the task's image as a PNG that carries its provenance.</summary>
    /// <param name="task">The task.</param>
    /// <param name="cancellationToken">Cancels the render (the worker drains on shutdown).</param>
    /// <returns>The PNG and what provenance records about how it was made.</returns>
    /// <exception cref="PermanentTaskFailureException">The task cannot succeed (model, parameters, layers).</exception>
    Task<TaskRenderResult> RenderAsync(RenderTask task, CancellationToken cancellationToken);
}

/// <summary>One rendered task image and the facts provenance records about it.</summary>
/// <param name="Png">The PNG file with its provenance text chunks.</param>
/// <param name="Width">Width of the stored image in pixels.</param>
/// <param name="Height">Height of the stored image in pixels.</param>
/// <param name="Device">The device that rendered (e.g. <c>cuda:0</c>, <c>cpu</c>).</param>
/// <param name="ExecutionProvider">ONNX Runtime execution provider that ran (<c>fake</c> in fake mode).</param>
/// <param name="OnnxRuntimeVersion">ONNX Runtime version.</param>
/// <param name="PatchVersion">Version of the SEG graph patch of the UNet (<c>none</c> without SEG).</param>
/// <param name="ModelFileHashes">SHA-256 of the model files, relative path to hex.</param>
/// <param name="StageSeconds">Wall-clock seconds per stage.</param>
/// <param name="DeviceSeconds">Seconds the render held the device (GPU-seconds for accounting).</param>
/// <param name="Warnings">Warnings of the render (truncated prompts, provider fallback).</param>
public sealed record TaskRenderResult(
    byte[] Png,
    int Width,
    int Height,
    string Device,
    string ExecutionProvider,
    string OnnxRuntimeVersion,
    string PatchVersion,
    IReadOnlyDictionary<string, string> ModelFileHashes,
    IReadOnlyDictionary<string, double> StageSeconds,
    double DeviceSeconds,
    IReadOnlyList<string> Warnings);

/// <summary>Names of the stages in <see cref="TaskRenderResult.StageSeconds"/> and in provenance timings.</summary>
public static class Stages
{
    /// <summary>Waiting for a free slot.</summary>
    public const string WaitForSlot = "wait_for_slot";

    /// <summary>Loading the model's sessions on the slot (0 when they were loaded already).</summary>
    public const string LoadModel = "load_model";

    /// <summary>Tokenizing and both text encoders.</summary>
    public const string EncodePrompt = "encode_prompt";

    /// <summary>The whole sampling loop.</summary>
    public const string Denoise = "denoise";

    /// <summary>Time inside the UNet (part of <see cref="Denoise"/>).</summary>
    public const string UNet = "unet";

    /// <summary>The VAE decoder.</summary>
    public const string Decode = "decode";

    /// <summary>The render call on the device: what accounting counts as GPU-seconds.</summary>
    public const string Device = "device";

    /// <summary>PNG encoding with the provenance chunks.</summary>
    public const string EncodePng = "encode_png";

    /// <summary>The upload to the blob store.</summary>
    public const string Upload = "upload";
}
