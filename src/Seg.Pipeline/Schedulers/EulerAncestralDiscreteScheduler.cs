using Seg.Parameters;
using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>EulerAncestralDiscreteScheduler</c>: an Euler step down to sigma_down, then fresh noise
/// times sigma_up drawn from the render's generator (after the initial latents, one tensor per step).
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : EulerFamilyScheduler
{
    private float[] _noise = [];

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config (use_karras_sigmas does not apply).</param>
    /// <param name="steps">Number of denoising steps.</param>
    public EulerAncestralDiscreteScheduler(SchedulerConfig config, int steps)
        : base(config, steps, useKarrasSigmas: false)
    {
    }

    /// <inheritdoc />
    public override string Name => SchedulerNames.EulerAncestral;

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ValidateStep(modelOutput, stepIndex, sample);
        var sigma = Sigmas[stepIndex];
        var sigmaTo = Sigmas[stepIndex + 1];
        var sigmaToSquared = sigmaTo * sigmaTo;
        var sigmaSquared = sigma * sigma;
        var sigmaUp = MathF.Sqrt(sigmaToSquared * (sigmaSquared - sigmaToSquared) / sigmaSquared);
        var sigmaDown = MathF.Sqrt(sigmaToSquared - sigmaUp * sigmaUp);
        EulerMove(modelOutput, stepIndex, sample, sigmaDown);

        // diffusers draws the noise after the Euler part, every step (the last one too, with sigma_up = 0).
        if (_noise.Length != sample.Length)
        {
            _noise = new float[sample.Length];
        }
        generator.FillNormal(_noise);
        for (var i = 0; i < sample.Length; i++)
        {
            sample[i] += _noise[i] * sigmaUp;
        }
    }
}
