using System.Runtime.InteropServices;
using SkiaSharp;

namespace Seg.Pipeline.Imaging;

/// <summary>Encodes RGB pixels as a PNG (SkiaSharp) with text chunks carrying how the image was made.</summary>
public static class PngImageEncoder
{
    /// <summary>
    /// Encodes interleaved 8-bit RGB pixels of <paramref name="width"/> x <paramref name="height"/> as PNG and
    /// inserts <paramref name="textEntries"/> as text chunks.
    /// </summary>
    public static byte[] Encode(byte[] rgb, int width, int height, IEnumerable<KeyValuePair<string, string>> textEntries)
    {
        if (rgb.Length != width * height * 3)
        {
            throw new ArgumentException($"expected {width * height * 3} RGB bytes for {width}x{height} (got {rgb.Length})", nameof(rgb));
        }
        var rgba = new byte[width * height * 4];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgba[q] = rgb[p];
            rgba[q + 1] = rgb[p + 1];
            rgba[q + 2] = rgb[p + 2];
            rgba[q + 3] = 255;
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(SKPngEncoderOptions.Default)
                ?? throw new InvalidOperationException("SkiaSharp could not encode the image as PNG");
            return PngTextChunks.Insert(data.AsSpan(), textEntries);
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>Decodes a PNG into interleaved RGB bytes (for tests and tools).</summary>
    public static (byte[] Rgb, int Width, int Height) DecodeRgb(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new ArgumentException("not a decodable PNG", nameof(png));
        using var converted = bitmap.Copy(SKColorType.Rgba8888) ?? throw new InvalidOperationException("PNG conversion failed");
        var rgba = converted.GetPixelSpan();
        var rgb = new byte[converted.Width * converted.Height * 3];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgb[p] = rgba[q];
            rgb[p + 1] = rgba[q + 1];
            rgb[p + 2] = rgba[q + 2];
        }
        return (rgb, converted.Width, converted.Height);
    }
}
