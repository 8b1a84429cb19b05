namespace Seg.Pipeline.Guidance;

/// <summary>
/// Combines the UNet's predictions of one image into the guided noise, in the order the official SEG
/// pipeline (pipeline_seg.py) and diffusers compute it:
/// <code>
///   CFG only:   eps = eps_u + cfg * (eps_c - eps_u)
///   SEG only:   eps = eps_c + seg_scale * (eps_c - eps_s)
///   SEG + CFG:  eps = eps_u + cfg * (eps_c - eps_u) + seg_scale * (eps_c - eps_s)
/// </code>
/// which equals DESIGN's eps_c + (cfg - 1)(eps_c - eps_u) + seg_scale (eps_c - eps_s).
/// </summary>
public static class NoiseGuidance
{
    /// <summary>
    /// Writes the guided prediction. <paramref name="uncond"/> is empty without CFG and
    /// <paramref name="blurred"/> is empty when SEG is off for this step.
    /// </summary>
    public static void Combine(
        Span<float> destination,
        ReadOnlySpan<float> cond,
        ReadOnlySpan<float> uncond,
        ReadOnlySpan<float> blurred,
        float guidanceScale,
        float segScale)
    {
        var cfg = !uncond.IsEmpty;
        var seg = !blurred.IsEmpty;
        for (var i = 0; i < destination.Length; i++)
        {
            var c = cond[i];
            var eps = cfg ? uncond[i] + guidanceScale * (c - uncond[i]) : c;
            if (seg)
            {
                eps += segScale * (c - blurred[i]);
            }
            destination[i] = eps;
        }
    }

    /// <summary>
    /// diffusers' <c>rescale_noise_cfg</c> (Lin et al. 2023, section 3.4): rescales the guided prediction to the
    /// standard deviation of the conditional one, blended by <paramref name="guidanceRescale"/>.
    /// </summary>
    public static void Rescale(Span<float> guided, ReadOnlySpan<float> cond, float guidanceRescale)
    {
        if (guidanceRescale <= 0)
        {
            return;
        }
        var ratio = (float)(StandardDeviation(cond) / StandardDeviation(guided));
        for (var i = 0; i < guided.Length; i++)
        {
            var rescaled = guided[i] * ratio;
            guided[i] = guidanceRescale * rescaled + (1 - guidanceRescale) * guided[i];
        }
    }

    // torch.std's default: the unbiased estimate (divides by n - 1).
    private static double StandardDeviation(ReadOnlySpan<float> values)
    {
        double mean = 0;
        foreach (var v in values)
        {
            mean += v;
        }
        mean /= values.Length;
        double sum = 0;
        foreach (var v in values)
        {
            var d = v - mean;
            sum += d * d;
        }
        return Math.Sqrt(sum / Math.Max(1, values.Length - 1));
    }
}
