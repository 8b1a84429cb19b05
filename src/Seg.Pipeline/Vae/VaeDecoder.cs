using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Seg.Pipeline.Models;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.Vae;

/// <summary>
/// The VAE decoder: <c>latent_sample</c> (latents divided by the scaling factor) to <c>sample</c>, mapped
/// from [-1, 1] to 8-bit RGB.
/// </summary>
public sealed class VaeDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly TensorElementType _inputType;

    /// <summary>Opens the decoder of <paramref name="model"/> (or its separate VAE folder).</summary>
    public VaeDecoder(SdxlModelFolder model, OnnxSessionFactory sessions)
    {
        _session = sessions.CreateSession(model.VaeDecoderPath);
        if (!_session.InputMetadata.TryGetValue("latent_sample", out var input))
        {
            throw new ModelFolderException(
                $"vae: {model.VaeDecoderPath} has no 'latent_sample' input (found: {string.Join(", ", _session.InputMetadata.Keys)})");
        }
        if (!_session.OutputMetadata.ContainsKey("sample"))
        {
            throw new ModelFolderException(
                $"vae: {model.VaeDecoderPath} has no 'sample' output (found: {string.Join(", ", _session.OutputMetadata.Keys)})");
        }
        _inputType = input.ElementDataType;
        ScalingFactor = model.ReadVaeScalingFactor();
    }

    /// <summary>The latent scaling factor (SDXL: 0.13025).</summary>
    public double ScalingFactor { get; }

    /// <summary>Decodes a batch of latents (batch x 4 x h x w) into interleaved RGB bytes, one array per item.</summary>
    public byte[][] Decode(float[] latents, int batch, int latentHeight, int latentWidth, RunOptions runOptions, SessionRunClock? clock = null)
    {
        var scaled = new float[latents.Length];
        var inverse = (float)(1.0 / ScalingFactor);
        for (var i = 0; i < latents.Length; i++)
        {
            scaled[i] = latents[i] * inverse;
        }

        using var input = OnnxTensors.FromFloats(scaled, [batch, 4, latentHeight, latentWidth], _inputType);
        using var outputs = (clock ?? new SessionRunClock()).Measure(() => _session.Run(runOptions, ["latent_sample"], [input], ["sample"]));
        var shape = OnnxTensors.Shape(outputs[0]);
        var pixels = OnnxTensors.ToFloats(outputs[0]);
        int channels = (int)shape[1], height = (int)shape[2], width = (int)shape[3];
        if (channels != 3)
        {
            throw new ModelFolderException($"vae: the decoder returned {channels} channels; expected 3 (RGB)");
        }

        var plane = height * width;
        var images = new byte[batch][];
        for (var b = 0; b < batch; b++)
        {
            var rgb = new byte[plane * 3];
            var offset = b * 3 * plane;
            for (var p = 0; p < plane; p++)
            {
                for (var c = 0; c < 3; c++)
                {
                    rgb[p * 3 + c] = ToByte(pixels[offset + c * plane + p]);
                }
            }
            images[b] = rgb;
        }
        return images;
    }

    // diffusers: (x / 2 + 0.5).clamp(0, 1), then numpy's (x * 255).round() on the float image.
    private static byte ToByte(float x)
    {
        var v = Math.Clamp(x / 2f + 0.5f, 0f, 1f);
        return (byte)MathF.Round(v * 255f, MidpointRounding.ToEven);
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
