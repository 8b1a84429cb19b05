using Seg.Pipeline.Guidance;

namespace Seg.Pipeline.Tests.Guidance;

public class NoiseGuidanceTests
{
    private static readonly float[] Cond = [1f, 2f, -3f];
    private static readonly float[] Uncond = [0.5f, 1f, -1f];
    private static readonly float[] Blurred = [0.8f, 2.5f, -2f];

    [Fact]
    public void Seg_with_cfg_matches_the_design_formula()
    {
        const float cfg = 5f, seg = 3f;
        var result = new float[3];
        NoiseGuidance.Combine(result, Cond, Uncond, Blurred, cfg, seg);
        for (var i = 0; i < 3; i++)
        {
            // DESIGN section 3: eps = eps_c + (cfg - 1)(eps_c - eps_u) + seg_scale (eps_c - eps_s)
            var expected = Cond[i] + (cfg - 1) * (Cond[i] - Uncond[i]) + seg * (Cond[i] - Blurred[i]);
            Assert.Equal(expected, result[i], 5);
        }
    }

    [Fact]
    public void Seg_without_cfg_uses_cond_and_blurred_only()
    {
        var result = new float[3];
        NoiseGuidance.Combine(result, Cond, default, Blurred, 1f, 2f);
        Assert.Equal([1f + 2f * 0.2f, 2f + 2f * -0.5f, -3f + 2f * -1f], result);
    }

    [Fact]
    public void Cfg_only_is_diffusers_formula_and_plain_is_cond()
    {
        var result = new float[3];
        NoiseGuidance.Combine(result, Cond, Uncond, default, 7.5f, 3f);
        Assert.Equal([0.5f + 7.5f * 0.5f, 1f + 7.5f * 1f, -1f + 7.5f * -2f], result);
        NoiseGuidance.Combine(result, Cond, default, default, 7.5f, 3f);
        Assert.Equal(Cond, result);
    }

    [Fact]
    public void Rescale_blends_towards_the_conditional_standard_deviation()
    {
        float[] guided = [2f, 4f, -6f];
        float[] cond = [1f, 2f, -3f];
        NoiseGuidance.Rescale(guided, cond, 1f);
        // std(guided) is twice std(cond): full rescale halves every value.
        Assert.Equal([1f, 2f, -3f], guided);

        float[] half = [2f, 4f, -6f];
        NoiseGuidance.Rescale(half, cond, 0.5f);
        Assert.Equal([1.5f, 3f, -4.5f], half);
    }
}
