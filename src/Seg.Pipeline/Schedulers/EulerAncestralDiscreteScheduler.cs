using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>EulerAncestralDiscreteScheduler</c>: an Euler step down to sigma_down, then fresh noise
/// times sigma_up drawn from the render's generator (after the initial latents, one tensor per step).
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : IDiffusionScheduler
{
    private readonly float[] _sigmas;
    private readonly PredictionType _predictionType;
    private float[] _noise = [];

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config (use_karras_sigmas does not apply).</param>
    /// <param name="steps">Number of denoising steps.</param>
    public EulerAncestralDiscreteScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DiffusionMath.ValidateSteps(steps, config);
        var spacing = config.TimestepSpacing ?? TimestepSpacing.Linspace;
        (var timesteps, _sigmas) = DiffusionMath.EulerSchedule(config, spacing, steps, useKarrasSigmas: false);
        Timesteps = timesteps;
        InitNoiseSigma = DiffusionMath.InitNoiseSigma(_sigmas, spacing);
        _predictionType = config.PredictionType;
    }

    /// <inheritdoc />
    public string Name => "euler_a";

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
        ArgumentNullException.ThrowIfNull(generator);
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, modelOutput.Length, nameof(modelOutput));
        var sigma = _sigmas[stepIndex];
        var sigmaTo = _sigmas[stepIndex + 1];
        var sigmaToSquared = sigmaTo * sigmaTo;
        var sigmaSquared = sigma * sigma;
        var sigmaUp = MathF.Sqrt(sigmaToSquared * (sigmaSquared - sigmaToSquared) / sigmaSquared);
        var sigmaDown = MathF.Sqrt(sigmaToSquared - sigmaUp * sigmaUp);
        var dt = sigmaDown - sigma;
        var skipDenominator = sigmaSquared + 1.0f;
        var outputScale = -sigma / MathF.Sqrt(skipDenominator);

        for (var i = 0; i < sample.Length; i++)
        {
            var x = sample[i];
            var denoised = _predictionType == PredictionType.Epsilon
                ? x - sigma * modelOutput[i]
                : modelOutput[i] * outputScale + x / skipDenominator;
            var derivative = (x - denoised) / sigma;
            sample[i] = x + derivative * dt;
        }

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
