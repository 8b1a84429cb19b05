using Seg.Pipeline.Imaging;

namespace Seg.Pipeline;

/// <summary>One rendered image with the data needed to reproduce and inspect it.</summary>
/// <param name="Rgb">Interleaved 8-bit RGB pixels, row-major.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="InitialNoise">The initial noise (before init_noise_sigma), 1 x 4 x h/8 x w/8.</param>
/// <param name="FinalLatents">The latents after the last step, before VAE scaling, 1 x 4 x h/8 x w/8.</param>
/// <param name="Provenance">Every parameter and the software that made it.</param>
/// <param name="Timings">Stage timings of the call that produced it (shared by images of one call).</param>
/// <param name="Warnings">Warnings for the user (truncation, fallback).</param>
public sealed record RenderedImage(
    byte[] Rgb,
    int Width,
    int Height,
    float[] InitialNoise,
    float[] FinalLatents,
    RenderProvenance Provenance,
    StageTimings Timings,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The latent shape, [1, 4, h/8, w/8].</summary>
    public long[] LatentShape => [1, 4, Height / 8, Width / 8];

    /// <summary>Encodes the image as PNG with its provenance in text chunks.</summary>
    public byte[] ToPng() => PngImageEncoder.Encode(Rgb, Width, Height, Provenance.ToPngText());
}
