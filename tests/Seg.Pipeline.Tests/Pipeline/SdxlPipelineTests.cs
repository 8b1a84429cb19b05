using Seg.Pipeline.Imaging;
using Seg.Pipeline.Models;
using Seg.Pipeline.TinyModel;

namespace Seg.Pipeline.Tests.Pipeline;

[Collection(TinyModelCollection.Name)]
public class SdxlPipelineTests(TinyModelFixture models)
{
    private static readonly RenderRequest Plain = new()
    {
        Prompt = "a photo of a cat",
        Seed = 7,
        Steps = 4,
        Width = 64,
        Height = 64,
        GuidanceScale = 5,
        SegScale = 0,
    };

    private SdxlPipeline Open(string? folder = null) =>
        SdxlPipeline.Load(folder ?? models.Fp32, new PipelineOptions { PatchCacheFolder = models.PatchCache });

    [Fact]
    public void Same_seed_gives_byte_identical_png_and_another_seed_another_image()
    {
        using var pipeline = Open();
        var first = pipeline.Render(Plain).ToPng();
        var second = pipeline.Render(Plain).ToPng();
        Assert.Equal(first, second);

        var other = pipeline.Render(Plain with { Seed = 8 });
        Assert.NotEqual(PngImageEncoder.DecodeRgb(first).Rgb, other.Rgb);
    }

    [Fact]
    public void A_second_pipeline_instance_renders_the_same_bytes()
    {
        byte[] a, b;
        using (var pipeline = Open())
        {
            a = pipeline.Render(Plain).ToPng();
        }
        using (var pipeline = Open())
        {
            b = pipeline.Render(Plain).ToPng();
        }
        Assert.Equal(a, b);
    }

    [Fact]
    public void The_image_has_structure_not_a_flat_colour()
    {
        using var pipeline = Open();
        var image = pipeline.Render(Plain);
        Assert.True(image.Rgb.Distinct().Count() > 20, "the decoded image should not be nearly constant");
    }

    [Theory]
    [InlineData(96, 64)]
    [InlineData(64, 96)]
    [InlineData(136, 72)]
    public void Non_square_sizes_render(int width, int height)
    {
        using var pipeline = Open();
        var image = pipeline.Render(Plain with { Width = width, Height = height, Steps = 2 });
        Assert.Equal(width * height * 3, image.Rgb.Length);
        var (_, w, h) = PngImageEncoder.DecodeRgb(image.ToPng());
        Assert.Equal((width, height), (w, h));
    }

    [Fact]
    public void A_1024_image_renders_and_its_noise_is_torch_randn_seed_42()
    {
        using var pipeline = Open();
        var image = pipeline.Render(Plain with { Width = 1024, Height = 1024, Steps = 1, Seed = 42, GuidanceScale = 1 });
        Assert.Equal(1024 * 1024 * 3, image.Rgb.Length);

        var reference = File.ReadAllBytes(TestPaths.Reference("randn_s42_1x4x128x128.bin"));
        var expected = new float[reference.Length / 4];
        Buffer.BlockCopy(reference, 0, expected, 0, reference.Length);
        Assert.Equal(expected.Length, image.InitialNoise.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - image.InitialNoise[i]) <= 1e-5, $"noise[{i}]: {image.InitialNoise[i]} vs torch {expected[i]}");
        }
    }

    [Fact]
    public void Png_text_chunks_carry_every_parameter()
    {
        using var pipeline = Open();
        var request = Plain with { NegativePrompt = "blurry", GuidanceRescale = 0.7, Scheduler = "euler_a" };
        var png = pipeline.Render(request).ToPng();

        var provenance = RenderProvenance.FromPng(png);
        Assert.NotNull(provenance);
        Assert.Equal("a photo of a cat", provenance.Parameters.Prompt);
        Assert.Equal("blurry", provenance.Parameters.NegativePrompt);
        Assert.Equal(7L, provenance.Parameters.Seed);
        Assert.Equal(4, provenance.Parameters.Steps);
        Assert.Equal("euler_a", provenance.Parameters.Scheduler);
        Assert.Equal(0.7, provenance.Parameters.GuidanceRescale);
        Assert.Equal("CPUExecutionProvider", provenance.ExecutionProvider);

        var parameters = PngTextChunks.Read(png).Single(e => e.Key == "parameters").Value;
        Assert.StartsWith("a photo of a cat\nNegative prompt: blurry\nModel: ", parameters);
        Assert.Contains(", Seed: 7, Size: 64x64, Steps: 4, Sampler: euler_a, CFG scale: 5, Guidance rescale: 0.7, SEG scale: 0, ONNX Runtime: ", parameters);
    }

    [Theory]
    [InlineData("euler")]
    [InlineData("euler_a")]
    [InlineData("ddim")]
    [InlineData("dpmpp_2m")]
    [InlineData("dpmpp_2m_karras")]
    public void Every_scheduler_renders_a_finite_image(string scheduler)
    {
        using var pipeline = Open();
        var image = pipeline.Render(Plain with { Scheduler = scheduler, Steps = 3 });
        Assert.All(image.FinalLatents, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Fp16_model_renders()
    {
        using var pipeline = Open(models.Get(new TinyModelOptions(Fp16: true)));
        var image = pipeline.Render(Plain with { Steps = 2 });
        Assert.All(image.FinalLatents, v => Assert.True(float.IsFinite(v)));
        Assert.True(image.Rgb.Distinct().Count() > 10);
    }

    [Theory]
    [InlineData(TimestepForm.Int64Vector)]
    [InlineData(TimestepForm.FloatScalar)]
    public void Every_timestep_form_renders_like_the_float_vector_form(TimestepForm form)
    {
        using var reference = Open();
        using var pipeline = Open(models.Get(new TinyModelOptions(TimestepForm: form)));
        // Euler's leading timesteps are whole numbers, so int64 and float forms see the same values.
        var expected = reference.Render(Plain with { Steps = 2 }).FinalLatents;
        var actual = pipeline.Render(Plain with { Steps = 2 }).FinalLatents;
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void External_weight_files_load()
    {
        var folder = models.Get(new TinyModelOptions(ExternalUNetData: true));
        Assert.True(File.Exists(Path.Combine(folder, "unet", "model.onnx_data")));
        using var reference = Open();
        using var pipeline = Open(folder);
        Assert.Equal(reference.Render(Plain with { Steps = 2 }).FinalLatents, pipeline.Render(Plain with { Steps = 2 }).FinalLatents);
    }

    [Fact]
    public void Empty_negative_prompt_with_cfg_differs_from_an_encoded_blank_negative()
    {
        using var pipeline = Open();
        // Zero embeddings (force_zeros_for_empty_prompt) are not the encoding of " ".
        var zeros = pipeline.Render(Plain with { NegativePrompt = "" });
        var blank = pipeline.Render(Plain with { NegativePrompt = " x" });
        Assert.NotEqual(zeros.FinalLatents, blank.FinalLatents);
    }

    [Fact]
    public void Progress_is_reported_per_step_and_cancellation_stops_the_render()
    {
        using var pipeline = Open();
        var steps = new List<int>();
        pipeline.Render(Plain, new InlineProgress(p => steps.Add(p.Step)));
        Assert.Equal([1, 2, 3, 4], steps);

        using var cancellation = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            pipeline.Render(Plain, new InlineProgress(p =>
            {
                if (p.Step == 2)
                {
                    cancellation.Cancel();
                }
            }), cancellation.Token));
    }

    [Fact]
    public void Truncated_prompts_warn()
    {
        var warnings = new List<string>();
        using var pipeline = SdxlPipeline.Load(models.Fp32, new PipelineOptions { Warning = warnings.Add });
        var image = pipeline.Render(Plain with { Prompt = string.Join(' ', Enumerable.Repeat("cat", 90)), Steps = 1 });
        Assert.Contains(image.Warnings, w => w.Contains("prompt has 90 tokens"));
        Assert.Contains(warnings, w => w.Contains("prompt has 90 tokens"));
    }

    [Theory]
    [InlineData("width", nameof(RenderRequest.Width), 100)]
    [InlineData("height", nameof(RenderRequest.Height), 60)]
    [InlineData("width", nameof(RenderRequest.Width), 8192)]
    [InlineData("steps", nameof(RenderRequest.Steps), 0)]
    public void Bad_integers_name_the_field(string field, string property, int value)
    {
        using var pipeline = Open();
        var request = property switch
        {
            nameof(RenderRequest.Width) => Plain with { Width = value },
            nameof(RenderRequest.Height) => Plain with { Height = value },
            _ => Plain with { Steps = value },
        };
        var error = Assert.Throws<RenderRequestException>(() => pipeline.Render(request));
        Assert.Equal(field, error.Field);
        Assert.StartsWith(field + " must", error.Message);
    }

    [Fact]
    public void Negative_scales_and_unknown_schedulers_name_the_field()
    {
        using var pipeline = Open();
        Assert.Equal("guidance_scale", Assert.Throws<RenderRequestException>(() => pipeline.Render(Plain with { GuidanceScale = -1 })).Field);
        Assert.Equal("seg_scale", Assert.Throws<RenderRequestException>(() => pipeline.Render(Plain with { SegScale = -0.5 })).Field);
        Assert.Equal("guidance_rescale", Assert.Throws<RenderRequestException>(() => pipeline.Render(Plain with { GuidanceRescale = 2 })).Field);
        var scheduler = Assert.Throws<RenderRequestException>(() => pipeline.Render(Plain with { Scheduler = "heun" }));
        Assert.Equal("scheduler", scheduler.Field);
        Assert.Contains("euler_a", scheduler.Message);
    }

    [Fact]
    public void Missing_folder_and_missing_file_are_named()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"seg-missing-{Guid.NewGuid():N}");
        var error = Assert.Throws<ModelFolderException>(() => SdxlPipeline.Load(missing));
        Assert.Contains("does not exist", error.Message);

        var copy = CopyModel(models.Fp32);
        File.Delete(Path.Combine(copy, "unet", "model.onnx"));
        var file = Assert.Throws<ModelFolderException>(() => SdxlPipeline.Load(copy));
        Assert.Contains(Path.Combine("unet", "model.onnx"), file.Message);
        Directory.Delete(copy, true);
    }

    [Fact]
    public void A_graph_with_the_wrong_inputs_is_refused_with_what_was_found()
    {
        var copy = CopyModel(models.Fp32);
        // A VAE decoder where the UNet should be: the interface check must say what is missing.
        File.Copy(Path.Combine(copy, "vae_decoder", "model.onnx"), Path.Combine(copy, "unet", "model.onnx"), overwrite: true);
        using var pipeline = Open(copy);
        var error = Assert.Throws<ModelFolderException>(() => pipeline.Render(Plain));
        Assert.Contains("lacks the SDXL input(s) sample, timestep", error.Message);
        Assert.Contains("latent_sample", error.Message);
        Directory.Delete(copy, true);
    }

    private static string CopyModel(string source)
    {
        var target = Path.Combine(Path.GetTempPath(), $"seg-copy-{Guid.NewGuid():N}");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        return target;
    }
}

internal sealed class InlineProgress(Action<RenderProgress> report) : IProgress<RenderProgress>
{
    public void Report(RenderProgress value) => report(value);
}
