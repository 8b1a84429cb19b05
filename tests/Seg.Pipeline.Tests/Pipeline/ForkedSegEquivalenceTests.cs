using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Schedulers;
using Seg.Pipeline.TinyModel;

namespace Seg.Pipeline.Tests.Pipeline;

/// <summary>
/// The shared-prefix (forked) SEG patch against the batched reference: the same final latents within 1e-5 on the
/// tiny model for every guidance mode, layer selection, non-square size, scheduler and several sigmas.
/// </summary>
[Collection(TinyModelCollection.Name)]
public class ForkedSegEquivalenceTests(TinyModelFixture models)
{
    private const float Tolerance = 1e-5f;

    private static readonly RenderRequest Seg = new()
    {
        Prompt = "a photo of a cat",
        Seed = 11,
        Steps = 4,
        Width = 64,
        Height = 64,
        GuidanceScale = 5,
        SegScale = 3,
        SegBlurSigmas = [2.0],
    };

    private SdxlPipeline Open(SegPatchMode mode, string? folder = null) =>
        SdxlPipeline.Load(folder ?? models.Fp32, new PipelineOptions { PatchCacheFolder = models.PatchCache, SegPatchMode = mode });

    public static TheoryData<string, double, string, int, int> Cases()
    {
        var data = new TheoryData<string, double, string, int, int>();
        // Guidance modes (SEG+CFG, SEG alone) x layer selections, square and non-square.
        foreach (var layers in new[] { "mid", "down", "up", "all", "d0", "d1,u4", "m1", "u5", "d2,m0,u0" })
        {
            data.Add(layers, 5, "euler", 64, 64);
            data.Add(layers, 1, "euler", 88, 64);
        }
        foreach (var scheduler in SchedulerFactory.Names)
        {
            data.Add("mid", 5, scheduler, 64, 104);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forked_equals_batched(string layers, double guidanceScale, string scheduler, int width, int height)
    {
        var request = Seg with { SegLayers = layers, GuidanceScale = guidanceScale, Scheduler = scheduler, Width = width, Height = height };
        using var batched = Open(SegPatchMode.Batched);
        using var forked = Open(SegPatchMode.Forked);
        AssertClose(batched.Render(request).FinalLatents, forked.Render(request).FinalLatents);
    }

    [Theory]
    [InlineData(5.0)]
    [InlineData(1.0)]
    public void Several_sigmas_fork_one_row_each(double guidanceScale)
    {
        var request = Seg with { SegBlurSigmas = [0.5, 4.0, double.PositiveInfinity], SegLayers = "d1,mid", GuidanceScale = guidanceScale };
        using var batched = Open(SegPatchMode.Batched);
        using var forked = Open(SegPatchMode.Forked);
        var expected = batched.RenderAll(request);
        var actual = forked.RenderAll(request);
        Assert.Equal(3, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            AssertClose(expected[i].FinalLatents, actual[i].FinalLatents);
        }
        // The sigmas differ, so a row copied to the wrong image would show.
        Assert.NotEqual(actual[0].FinalLatents, actual[2].FinalLatents);
    }

    [Fact]
    public void A_guidance_window_switches_between_forked_and_unforked_steps()
    {
        var request = Seg with { Steps = 6, SegWindowStart = 0.3, SegWindowStop = 0.7 };
        using var batched = Open(SegPatchMode.Batched);
        using var forked = Open(SegPatchMode.Forked);
        AssertClose(batched.Render(request).FinalLatents, forked.Render(request).FinalLatents);
    }

    [Fact]
    public void Fp16_and_other_timestep_forms_fork_too()
    {
        foreach (var options in new[] { new TinyModelOptions(Fp16: true), new TinyModelOptions(TimestepForm: TimestepForm.FloatScalar), new TinyModelOptions(TimestepForm: TimestepForm.Int64Vector) })
        {
            var folder = models.Get(options);
            using var batched = Open(SegPatchMode.Batched, folder);
            using var forked = Open(SegPatchMode.Forked, folder);
            var request = Seg with { Steps = 2 };
            var reference = batched.Render(request).FinalLatents;
            var tolerance = Tolerance;
            if (options.Fp16)
            {
                // On the CPU, ONNX Runtime runs most fp16 ops in fp32 between inserted casts, and the fork's Gather
                // nodes move where values are rounded to fp16. Hold the fork to a twentieth of what SEG itself
                // changes: a row forked from the wrong item would change as much as SEG does.
                tolerance = MaxDifference(reference, batched.Render(request with { SegScale = 0 }).FinalLatents) / 20;
            }
            AssertClose(reference, forked.Render(request).FinalLatents, tolerance);
        }
    }

    [Fact]
    public void The_forked_mode_is_the_default_and_seg_still_changes_the_image()
    {
        Assert.Equal(SegPatchMode.Forked, new PipelineOptions().SegPatchMode);
        using var pipeline = SdxlPipeline.Load(models.Fp32, new PipelineOptions { PatchCacheFolder = models.PatchCache });
        Assert.NotEqual(pipeline.Render(Seg with { SegScale = 0 }).FinalLatents, pipeline.Render(Seg).FinalLatents);
        Assert.Equal(SegPatchMode.Forked, pipeline.GetSegUNet("mid").Mode);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance = Tolerance)
    {
        var worst = MaxDifference(expected, actual);
        Assert.True(worst <= tolerance, $"largest difference {worst:G3} exceeds {tolerance:G3}");
    }

    private static float MaxDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }
        return worst;
    }
}
