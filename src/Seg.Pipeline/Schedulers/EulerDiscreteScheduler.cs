using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>EulerDiscreteScheduler</c> (SDXL's default), with <c>use_karras_sigmas</c> and the
/// defaults s_churn = 0, linear interpolation and a final sigma of 0.
/// </summary>
public sealed class EulerDiscreteScheduler : IDiffusionScheduler
{
    private readonly float[] _sigmas;
    private readonly PredictionType _predictionType;

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config.</param>
    /// <param name="steps">Number of denoising steps.</param>
    public EulerDiscreteScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DiffusionMath.ValidateSteps(steps, config);
        var spacing = config.TimestepSpacing ?? TimestepSpacing.Linspace;
        (var timesteps, _sigmas) = DiffusionMath.EulerSchedule(config, spacing, steps, config.UseKarrasSigmas);
        Timesteps = timesteps;
        InitNoiseSigma = DiffusionMath.InitNoiseSigma(_sigmas, spacing);
        _predictionType = config.PredictionType;
    }

    /// <inheritdoc />
    public string Name => "euler";

    /// <inheritdoc />
    public IReadOnlyList<float> Timesteps { get; }

    /// <summary>The sigma of each step plus the final 0 (diffusers' <c>scheduler.sigmas</c>).</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;

    /// <inheritdoc />
    public float InitNoiseSigma { get; }

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

    /// <inheritdoc />
    public void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator)
    {
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, modelOutput.Length, nameof(modelOutput));
        var sigma = _sigmas[stepIndex];
        var dt = _sigmas[stepIndex + 1] - sigma;

        // Each operation rounds to float32, as diffusers' torch tensor arithmetic does.
        if (_predictionType == PredictionType.Epsilon)
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
