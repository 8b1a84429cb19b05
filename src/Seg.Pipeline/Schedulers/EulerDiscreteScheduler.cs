using Seg.Parameters;
using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>EulerDiscreteScheduler</c> (SDXL's default), with <c>use_karras_sigmas</c> and the
/// defaults s_churn = 0, linear interpolation and a final sigma of 0.
/// </summary>
public sealed class EulerDiscreteScheduler : EulerFamilyScheduler
{
    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config.</param>
    /// <param name="steps">Number of denoising steps.</param>
    public EulerDiscreteScheduler(SchedulerConfig config, int steps)
        : base(config, steps, config?.UseKarrasSigmas ?? false)
    {
    }

    /// <inheritdoc />
    public override string Name => SchedulerNames.Euler;

    /// <inheritdoc />
    public override void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator)
    {
        ValidateStep(modelOutput, stepIndex, sample);
        EulerMove(modelOutput, stepIndex, sample, Sigmas[stepIndex + 1]);
    }
}
