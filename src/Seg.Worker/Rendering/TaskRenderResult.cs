namespace Seg.Worker.Rendering;

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
/// <param name="GpuSeconds">Seconds the render held the device (GPU-seconds for accounting).</param>
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
    double GpuSeconds,
    IReadOnlyList<string> Warnings);
