using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// What diffusers' Euler and Euler ancestral schedulers share: the sigma schedule (timesteps interpolated from
/// the training schedule plus a final 0), <c>init_noise_sigma</c>, and the input scaling x / sqrt(sigma^2 + 1).
/// </summary>
public abstract class EulerFamilyScheduler : IDiffusionScheduler
{
    private readonly float[] _sigmas;

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config.</param>
    /// <param name="steps">Number of denoising steps.</param>
    /// <param name="useKarrasSigmas">Whether to space the sigmas as Karras et al. (2022) do.</param>
    private protected EulerFamilyScheduler(SchedulerConfig config, int steps, bool useKarrasSigmas)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DiffusionMath.ValidateSteps(steps, config);
        var spacing = config.TimestepSpacing ?? TimestepSpacing.Linspace;
        (var timesteps, _sigmas) = DiffusionMath.EulerSchedule(config, spacing, steps, useKarrasSigmas);
        Timesteps = timesteps;
        InitNoiseSigma = DiffusionMath.InitNoiseSigma(_sigmas, spacing);
        PredictionType = config.PredictionType;
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<float> Timesteps { get; }

    /// <summary>The sigma of each step plus the final 0 (diffusers' <c>scheduler.sigmas</c>).</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;

    /// <inheritdoc />
    public float InitNoiseSigma { get; }

    /// <summary>What the model predicts: noise (epsilon) or v.</summary>
    private protected PredictionType PredictionType { get; }

    /// <inheritdoc />
    public void ScaleModelInput(ReadOnlySpan<float> sample, int stepIndex, Span<float> destination)
    {
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, destination.Length, nameof(destination));
        var sigma = _sigmas[stepIndex];
        var scale = MathF.Sqrt(sigma * sigma + 1.0f);
        for (var i = 0; i < sample.Length; i++)
        {
            destination[i] = sample[i] / scale;
        }
    }

    /// <summary>Checks the step index and span lengths before any sigma is read.</summary>
    private protected void ValidateStep(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample) =>
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, modelOutput.Length, nameof(modelOutput));

    /// <inheritdoc />
    public abstract void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator);

    /// <summary>
    /// Moves <paramref name="sample"/> from the step's sigma to <paramref name="sigmaTarget"/> along the Euler
    /// derivative (x - x0) / sigma, with x0 from an epsilon or v prediction. Each operation rounds to float32,
    /// as diffusers' torch tensor arithmetic does.
    /// </summary>
    private protected void EulerMove(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, float sigmaTarget)
    {
        var sigma = _sigmas[stepIndex];
        var dt = sigmaTarget - sigma;
        if (PredictionType == PredictionType.Epsilon)
        {
            for (var i = 0; i < sample.Length; i++)
            {
                var x = sample[i];
                var denoised = x - sigma * modelOutput[i];
                var derivative = (x - denoised) / sigma;
                sample[i] = x + derivative * dt;
            }
        }
        else
        {
            var skipDenominator = sigma * sigma + 1.0f;
            var outputScale = -sigma / MathF.Sqrt(skipDenominator);
            for (var i = 0; i < sample.Length; i++)
            {
                var x = sample[i];
                var denoised = modelOutput[i] * outputScale + x / skipDenominator;
                var derivative = (x - denoised) / sigma;
                sample[i] = x + derivative * dt;
            }
        }
    }
}
