namespace Seg.Parameters.Tests;

public class ParameterTextTests
{
    private static readonly RenderParameters Cat = ParameterDefinitions.Defaults with
    {
        Model = "sdxl",
        Prompt = "a photo of a cat",
        NegativePrompt = "blurry",
        Seed = 7,
        Width = 832,
        Height = 1216,
        SegBlurSigma = 10,
        SegLayers = "d0,m0",
        SegWindowStop = 0.75,
    };

    [Fact]
    public void The_a1111_text_has_the_prompts_then_each_label_in_definition_order()
    {
        var text = A1111Text.Write(Cat, [new("Version", "seg 1.0")]);

        Assert.Equal(
            "a photo of a cat\nNegative prompt: blurry\n" +
            "Model: sdxl, Seed: 7, Size: 832x1216, Steps: 30, Sampler: euler, CFG scale: 5, SEG scale: 3, SEG blur sigma: 10, " +
            "SEG layers: \"d0,m0\", SEG window: 0-0.75, Version: seg 1.0",
            text);
    }

    [Fact]
    public void Entries_that_do_not_apply_are_left_out_and_set_ones_shown()
    {
        var plain = A1111Text.Write(Cat with { NegativePrompt = "", SegScale = 0 }, []);
        var rescaled = A1111Text.Write(Cat with { GuidanceRescale = 0.7, Vae = "vae-fp32", SegBlurSigma = double.PositiveInfinity }, []);

        Assert.Equal("a photo of a cat\nModel: sdxl, Seed: 7, Size: 832x1216, Steps: 30, Sampler: euler, CFG scale: 5, SEG scale: 0", plain);
        Assert.Contains("Model: sdxl, VAE: vae-fp32, ", rescaled);
        Assert.Contains("CFG scale: 5, Guidance rescale: 0.7, SEG scale: 3, SEG blur sigma: inf, ", rescaled);
    }

    [Theory]
    [InlineData("seg_scale=3", 3.0, true)]
    [InlineData("seg_scale = 3.0", 3.0, true)]
    [InlineData("seg_scale=3", 1.5, false)]
    [InlineData("seg_blur_sigma=inf", double.PositiveInfinity, true)]
    [InlineData("seg_blur_sigma=inf", 10000.0, true)]
    [InlineData("seg_blur_sigma=inf", 4.0, false)]
    public void A_condition_matches_values_as_people_write_them(string text, double value, bool matches)
    {
        Assert.True(ParameterCondition.TryParse(text, out var condition, out var error), error);
        var parameters = condition!.Parameter == ParameterDefinitions.SegScale
            ? Cat with { SegScale = value }
            : Cat with { SegBlurSigma = value };

        Assert.Equal(matches, condition.Matches(parameters));
    }

    [Theory]
    [InlineData("seg_scale", "must be name=value such as seg_scale=3 (got 'seg_scale')")]
    [InlineData("sigma=4", "'sigma' is not a render parameter; the parameters are model, vae, prompt, negative_prompt, seed, width, height, steps, scheduler, guidance_scale, guidance_rescale, seg_scale, seg_blur_sigma, seg_layers, seg_window_start, seg_window_stop")]
    [InlineData("seed=big", "seed must be a whole number (got 'big')")]
    public void A_condition_that_is_not_one_says_why(string text, string expected)
    {
        Assert.False(ParameterCondition.TryParse(text, out var condition, out var error));
        Assert.Null(condition);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void A_condition_writes_itself_as_people_write_it()
    {
        Assert.True(ParameterCondition.TryParse("seg_blur_sigma=.inf", out var condition, out _));
        Assert.Equal("seg_blur_sigma=inf", condition!.ToString());
    }
}
