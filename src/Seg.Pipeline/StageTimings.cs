namespace Seg.Pipeline;

/// <summary>Wall time per stage of one render, in milliseconds.</summary>
/// <param name="TextEncodingMs">Tokenizing and both text encoders.</param>
/// <param name="DenoisingMs">The whole sampling loop.</param>
/// <param name="UNetMs">Time inside UNet session runs (part of <paramref name="DenoisingMs"/>).</param>
/// <param name="VaeMs">The decode stage, VAE session and pixel conversion.</param>
/// <param name="TotalMs">The whole render, from request to pixels.</param>
/// <param name="OnnxRuntimeMs">Time inside ONNX Runtime session runs (text encoders, UNet, VAE), excluding our tensor conversion.</param>
public sealed record StageTimings(
    double TextEncodingMs,
    double DenoisingMs,
    double UNetMs,
    double VaeMs,
    double TotalMs,
    double OnnxRuntimeMs);
