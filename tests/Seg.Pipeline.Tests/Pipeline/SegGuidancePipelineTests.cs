using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline.Imaging;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.TinyModel;
using Seg.Pipeline.UNet;

namespace Seg.Pipeline.Tests.Pipeline;

/// <summary>SEG through the whole pipeline on the tiny model (issue: SEG in the pipeline).</summary>
[Collection(TinyModelCollection.Name)]
public class SegGuidancePipelineTests(TinyModelFixture models)
{
    private static readonly RenderRequest Seg = new()
    {
        Prompt = "a photo of a cat",
        Seed = 3,
        Steps = 4,
        Width = 64,
        Height = 64,
        GuidanceScale = 5,
        SegScale = 3,
        SegBlurSigmas = [double.PositiveInfinity],
    };

    private SdxlPipeline Open(string? folder = null) =>
        SdxlPipeline.Load(folder ?? models.Fp32, new PipelineOptions { PatchCacheFolder = models.PatchCache });

    [Fact]
    public void Seg_changes_the_image_and_is_deterministic()
    {
        using var pipeline = Open();
        var plain = pipeline.Render(Seg with { SegScale = 0 });
        var seg = pipeline.Render(Seg);
        Assert.NotEqual(plain.Rgb, seg.Rgb);
        Assert.Equal(seg.ToPng(), pipeline.Render(Seg).ToPng());
        Assert.Equal("1", seg.Provenance.SegPatchVersion);
        Assert.Equal("mid", seg.Provenance.Parameters.SegLayers);
    }

    [Fact]
    public void Seg_without_cfg_changes_the_image()
    {
        using var pipeline = Open();
        var plain = pipeline.Render(Seg with { SegScale = 0, GuidanceScale = 1 });
        var seg = pipeline.Render(Seg with { GuidanceScale = 1 });
        Assert.NotEqual(plain.FinalLatents, seg.FinalLatents);
    }

    [Fact]
    public void Different_sigmas_give_different_images()
    {
        using var pipeline = Open();
        var sharp = pipeline.Render(Seg with { SegBlurSigmas = [0.5] });
        var infinite = pipeline.Render(Seg);
        Assert.NotEqual(sharp.FinalLatents, infinite.FinalLatents);
    }

    [Fact]
    public void A_patched_unet_with_identity_operators_is_bit_identical_to_the_plain_unet()
    {
        var folder = models.Fp32;
        var sessions = new OnnxSessionFactory(ExecutionProviderOptions.Cpu);
        using var plain = new UNetSession(Path.Combine(folder, "unet", "model.onnx"), sessions);
        var patchedPath = PatchedUNetCache.GetOrCreate(Path.Combine(folder, "unet", "model.onnx"), SegLayerSelection.Parse("all"), models.PatchCache);
        var info = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(patchedPath))!;
        using var patched = new UNetSession(patchedPath, sessions);

        const int batch = 2, h = 12, w = 8;
        var random = new Random(5);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var inputs = new UNetInputs(batch, h, w, Random(batch * 4 * h * w), 500, 77, Random(batch * 77 * plain.EncoderHiddenSize),
            Random(batch * plain.TextEmbedsSize), Enumerable.Repeat(64f, batch * 6).ToArray(), []);
        var extra = info.Inputs.SelectMany(pair => new[]
        {
            (pair.RowsInput, Stack(batch, SegBlurOperator.Identity(SegBlurOperator.GridLength(h, pair.Factor))), Shape(batch, SegBlurOperator.GridLength(h, pair.Factor))),
            (pair.ColumnsInput, Stack(batch, SegBlurOperator.Identity(SegBlurOperator.GridLength(w, pair.Factor))), Shape(batch, SegBlurOperator.GridLength(w, pair.Factor))),
        }).ToList();

        using var runOptions = new RunOptions();
        var expected = plain.Predict(inputs, runOptions);
        var actual = patched.Predict(inputs with { ExtraInputs = extra }, runOptions);
        Assert.Equal(expected, actual);
    }

    private static float[] Stack(int batch, float[] matrix) => Enumerable.Repeat(matrix, batch).SelectMany(m => m).ToArray();

    private static long[] Shape(int batch, int n) => [batch, n, n];

    [Theory]
    [InlineData("mid", "mid")]
    [InlineData("down", "down")]
    [InlineData("up", "up")]
    [InlineData("d0,m0", "d0,m0")]
    [InlineData("u5,d2", "d2,u5")]
    public void Layer_selections_render_and_are_recorded(string layers, string canonical)
    {
        using var pipeline = Open();
        var image = pipeline.Render(Seg with { SegLayers = layers, SegBlurSigmas = [2.0] });
        Assert.Equal(canonical, image.Provenance.Parameters.SegLayers);
        Assert.NotEqual(pipeline.Render(Seg with { SegScale = 0 }).FinalLatents, image.FinalLatents);
    }

    [Fact]
    public void An_index_out_of_range_lists_what_exists()
    {
        using var pipeline = Open();
        var error = Assert.ThrowsAny<Exception>(() => pipeline.Render(Seg with { SegLayers = "u12" }));
        Assert.Contains("u12", error.Message);
        Assert.Contains("6 up", error.Message);
    }

    [Fact]
    public void Non_square_images_use_per_axis_operators()
    {
        using var pipeline = Open();
        var plain = pipeline.Render(Seg with { Width = 96, Height = 64, SegScale = 0 });
        var seg = pipeline.Render(Seg with { Width = 96, Height = 64, SegBlurSigmas = [1.0], SegLayers = "all" });
        Assert.Equal(96 * 64 * 3, seg.Rgb.Length);
        Assert.NotEqual(plain.FinalLatents, seg.FinalLatents);
    }

    [Fact]
    public void Several_sigmas_in_one_call_equal_single_renders()
    {
        using var pipeline = Open();
        var request = Seg with { SegBlurSigmas = [1.0, double.PositiveInfinity], SegLayers = "all", Scheduler = "euler_a" };
        var batched = pipeline.RenderAll(request);
        Assert.Equal(2, batched.Count);
        Assert.Equal(1.0, batched[0].Provenance.Parameters.SegBlurSigma);
        Assert.Equal(double.PositiveInfinity, batched[1].Provenance.Parameters.SegBlurSigma);
        for (var i = 0; i < 2; i++)
        {
            var single = pipeline.Render(request with { SegBlurSigmas = [request.SegBlurSigmas[i]] });
            for (var j = 0; j < single.FinalLatents.Length; j++)
            {
                Assert.True(Math.Abs(single.FinalLatents[j] - batched[i].FinalLatents[j]) < 1e-4,
                    $"sigma {request.SegBlurSigmas[i]}: latent {j} differs: {single.FinalLatents[j]} vs {batched[i].FinalLatents[j]}");
            }
        }
    }

    [Fact]
    public void A_window_that_covers_no_step_renders_exactly_the_plain_image()
    {
        using var pipeline = Open();
        // Steps sit at fractions 0, .25, .5, .75: a window [0.8, 1) holds none of them.
        var plain = pipeline.Render(Seg with { SegScale = 0 });
        var empty = pipeline.Render(Seg with { SegWindowStart = 0.8, SegWindowStop = 1 });
        Assert.Equal(plain.Rgb, empty.Rgb);

        var half = pipeline.Render(Seg with { SegWindowStart = 0, SegWindowStop = 0.5 });
        var full = pipeline.Render(Seg);
        Assert.NotEqual(plain.FinalLatents, half.FinalLatents);
        Assert.NotEqual(full.FinalLatents, half.FinalLatents);
    }

    [Fact]
    public void Fp16_tiny_model_renders_with_seg()
    {
        using var pipeline = Open(models.Get(new TinyModelOptions(Fp16: true)));
        var image = pipeline.Render(Seg with { Steps = 2, SegBlurSigmas = [3.7] });
        Assert.All(image.FinalLatents, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(pipeline.Render(Seg with { Steps = 2, SegScale = 0 }).FinalLatents, image.FinalLatents);
    }

    [Fact]
    public void Png_metadata_carries_every_seg_parameter()
    {
        using var pipeline = Open();
        var png = pipeline.Render(Seg with { SegBlurSigmas = [10.0], SegLayers = "d0,m0", SegWindowStop = 0.75 }).ToPng();
        var provenance = RenderProvenance.FromPng(png)!;
        Assert.Equal(3, provenance.Parameters.SegScale);
        Assert.Equal(10.0, provenance.Parameters.SegBlurSigma);
        Assert.Equal("d0,m0", provenance.Parameters.SegLayers);
        Assert.Equal(0.75, provenance.Parameters.SegWindowStop);
        Assert.Equal("1", provenance.SegPatchVersion);
        var parameters = PngTextChunks.Read(png).Single(e => e.Key == "parameters").Value;
        Assert.Contains("SEG scale: 3, SEG blur sigma: 10, SEG layers: \"d0,m0\", SEG window: 0-0.75, SEG patch: 1", parameters);
    }
}

[Collection(TinyModelCollection.Name)]
public class SegExternalDataTests(TinyModelFixture models)
{
    [Fact]
    public void Seg_on_a_unet_with_external_weights_keeps_the_weights_out_of_the_cache()
    {
        var folder = models.Get(new TinyModelOptions(ExternalUNetData: true));
        var cache = Path.Combine(models.PatchCache, "external");
        var request = new RenderRequest { Prompt = "a cat", Seed = 3, Steps = 2, Width = 64, Height = 64, SegBlurSigmas = [2.0] };

        using var inline = SdxlPipeline.Load(models.Fp32, new PipelineOptions { PatchCacheFolder = cache });
        using var external = SdxlPipeline.Load(folder, new PipelineOptions { PatchCacheFolder = cache });
        Assert.Equal(inline.Render(request).FinalLatents, external.Render(request).FinalLatents);

        // The cache holds patched graphs only: the weights are read from the model's own folder.
        Assert.Empty(Directory.EnumerateFiles(cache, "*.onnx_data", SearchOption.AllDirectories));
    }
}
