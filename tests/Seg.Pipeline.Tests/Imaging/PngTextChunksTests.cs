using Seg.Pipeline.Imaging;

namespace Seg.Pipeline.Tests.Imaging;

public class PngTextChunksTests
{
    private static byte[] SmallPng(IEnumerable<KeyValuePair<string, string>> text)
    {
        var rgb = new byte[16 * 8 * 3];
        for (var i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (byte)(i * 7);
        }
        return PngImageEncoder.Encode(rgb, 16, 8, text);
    }

    [Fact]
    public void Latin1_and_unicode_entries_round_trip_and_pixels_survive()
    {
        var entries = new Dictionary<string, string>
        {
            ["parameters"] = "a photo of a cat\nNegative prompt: blurry\nSteps: 20, Seed: 42",
            ["seg"] = "{\"prompt\":\"猫の写真 🐱\"}",
        };
        var png = SmallPng(entries);

        var read = PngTextChunks.Read(png);
        Assert.Equal(entries.OrderBy(e => e.Key), read.OrderBy(e => e.Key));

        var (rgb, width, height) = PngImageEncoder.DecodeRgb(png);
        Assert.Equal((16, 8), (width, height));
        Assert.Equal((byte)(5 * 7), rgb[5]);
    }

    [Fact]
    public void Chunks_have_valid_crcs_so_strict_decoders_accept_the_file()
    {
        var png = SmallPng([new("parameters", "x")]);
        // SkiaSharp's decoder (libpng) rejects chunks with a bad CRC; decoding proves the CRC is right.
        var (_, width, _) = PngImageEncoder.DecodeRgb(png);
        Assert.Equal(16, width);
        Assert.Contains("tEXt", System.Text.Encoding.ASCII.GetString(png));
    }

    [Fact]
    public void Same_pixels_and_text_give_the_same_bytes()
    {
        Assert.Equal(SmallPng([new("a", "b")]), SmallPng([new("a", "b")]));
    }

    [Fact]
    public void Rejects_data_that_is_not_png()
    {
        Assert.Throws<ArgumentException>(() => PngTextChunks.Read(new byte[64]));
    }
}
