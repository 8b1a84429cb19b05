using Seg.Parameters;
using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>DDIMScheduler</c> with eta = 0 (deterministic). Like diffusers, the previous timestep is
/// always <c>t - num_train_timesteps // steps</c>, whatever the spacing.
/// </summary>
public sealed class DdimScheduler : IDiffusionScheduler
{
    private readonly float[] _alphasCumprod;
    private readonly float _finalAlphaCumprod;
    private readonly int _stepRatio;
    private readonly int[] _timesteps;
    private readonly PredictionType _predictionType;
    private readonly bool _clipSample;
    private readonly float _clipSampleRange;

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config.</param>
    /// <param name="steps">Number of denoising steps.</param>
    public DdimScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DiffusionMath.ValidateSteps(steps, config);
        var trainSteps = config.NumTrainTimesteps;
        _alphasCumprod = DiffusionMath.AlphasCumprod(config);
        _finalAlphaCumprod = (config.SetAlphaToOne ?? true) ? 1.0f : _alphasCumprod[0];
        _stepRatio = trainSteps / steps;
        _predictionType = config.PredictionType;
        _clipSample = config.ClipSample ?? true;
        _clipSampleRange = (float)config.ClipSampleRange;

        double[] timesteps = (config.TimestepSpacing ?? TimestepSpacing.Leading) switch
        {
            TimestepSpacing.Linspace => DiffusionMath.NumpyLinspace(0, trainSteps - 1, steps)
                .Select(DiffusionMath.RoundHalfEven).Reverse().ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(0, steps).Reverse()
                .Select(i => (double)(i * _stepRatio + config.StepsOffset)).ToArray(),
            _ => DiffusionMath.TrailingTimesteps(trainSteps, steps),
        };
        _timesteps = timesteps.Select(t => (int)t).ToArray();
        if (_timesteps.Any(t => t >= trainSteps))
        {
            throw new ArgumentException(
                $"steps_offset ({config.StepsOffset}) pushes a timestep past num_train_timesteps - 1 ({trainSteps - 1})",
                nameof(config));
        }
        Timesteps = _timesteps.Select(t => (float)t).ToArray();
    }

    /// <inheritdoc />
    public string Name => SchedulerNames.Ddim;

    /// <inheritdoc />
    public IReadOnlyList<float> Timesteps { get; }

    /// <inheritdoc />
    public float InitNoiseSigma => 1.0f;

    /// <inheritdoc />
    public void ScaleModelInput(ReadOnlySpan<float> sample, int stepIndex, Span<float> destination)
    {
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, destination.Length, nameof(destination));
        sample.CopyTo(destination);
    }

    /// <inheritdoc />
    public void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator)
    {
        DiffusionMath.ValidateStep(stepIndex, Timesteps.Count, sample.Length, modelOutput.Length, nameof(modelOutput));
        var timestep = _timesteps[stepIndex];
        var previous = timestep - _stepRatio;
        var alphaProduct = _alphasCumprod[timestep];
        var alphaProductPrevious = previous >= 0 ? _alphasCumprod[previous] : _finalAlphaCumprod;
        var betaProduct = 1.0f - alphaProduct;

        var sqrtAlpha = MathF.Sqrt(alphaProduct);
        var sqrtBeta = MathF.Sqrt(betaProduct);
        var sqrtAlphaPrevious = MathF.Sqrt(alphaProductPrevious);
        // eta = 0, so std_dev_t = 0 and the direction term keeps all of 1 - alpha_prev.
        var directionScale = MathF.Sqrt(1.0f - alphaProductPrevious - 0.0f);

        for (var i = 0; i < sample.Length; i++)
        {
            var x = sample[i];
            var output = modelOutput[i];
            float predictedOriginal;
            float predictedEpsilon;
            if (_predictionType == PredictionType.Epsilon)
            {
                predictedOriginal = (x - sqrtBeta * output) / sqrtAlpha;
                predictedEpsilon = output;
            }
            else
            {
                predictedOriginal = sqrtAlpha * x - sqrtBeta * output;
                predictedEpsilon = sqrtAlpha * output + sqrtBeta * x;
            }
            if (_clipSample)
            {
                predictedOriginal = Math.Clamp(predictedOriginal, -_clipSampleRange, _clipSampleRange);
            }
            sample[i] = sqrtAlphaPrevious * predictedOriginal + directionScale * predictedEpsilon;
        }
    }
}
