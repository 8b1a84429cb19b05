using Seg.Parameters;
using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// diffusers 0.27 <c>DPMSolverMultistepScheduler</c> as DPM-Solver++(2M): algorithm dpmsolver++, solver_order 2,
/// midpoint solver, lower_order_final, final sigma 0 (so the last step is first order), and Karras sigmas when
/// the config asks for them. It keeps the previous step's data prediction, so steps must run in order on a
/// fresh instance per render.
/// </summary>
public sealed class DpmSolverMultistepScheduler : IDiffusionScheduler
{
    private readonly float[] _sigmas;
    private readonly PredictionType _predictionType;
    private float[] _previousPrediction = [];
    private float[] _currentPrediction = [];
    private int _lowerOrderCount;
    private int _nextStep;

    /// <summary>Builds the schedule for <paramref name="steps"/> steps.</summary>
    /// <param name="config">The model's scheduler config; use_karras_sigmas selects DPM++ 2M Karras.</param>
    /// <param name="steps">Number of denoising steps.</param>
    public DpmSolverMultistepScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DiffusionMath.ValidateSteps(steps, config);
        UsesKarrasSigmas = config.UseKarrasSigmas;
        _predictionType = config.PredictionType;

        // lambda_min_clipped is -inf by default, so the last usable timestep is num_train_timesteps.
        var trainSteps = config.NumTrainTimesteps;
        double[] timesteps = (config.TimestepSpacing ?? TimestepSpacing.Linspace) switch
        {
            TimestepSpacing.Linspace => DiffusionMath.NumpyLinspace(0, trainSteps - 1, steps + 1)
                .Select(DiffusionMath.RoundHalfEven).Reverse().Take(steps).ToArray(),
            TimestepSpacing.Leading => Enumerable.Range(1, steps).Reverse()
                .Select(i => (double)(i * (trainSteps / (steps + 1)) + config.StepsOffset)).ToArray(),
            _ => DiffusionMath.TrailingTimesteps(trainSteps, steps),
        };

        var trainSigmas = DiffusionMath.TrainSigmas(DiffusionMath.AlphasCumprod(config));
        double[] sigmas;
        if (UsesKarrasSigmas)
        {
            var logSigmas = trainSigmas.Select(s => MathF.Log(s)).ToArray();
            sigmas = DiffusionMath.KarrasSigmas(sigmaMin: trainSigmas[0], sigmaMax: trainSigmas[^1], steps);
            timesteps = sigmas.Select(s => DiffusionMath.RoundHalfEven(DiffusionMath.SigmaToT(s, logSigmas))).ToArray();
        }
        else
        {
            sigmas = timesteps.Select(t => DiffusionMath.Interp(t, trainSigmas)).ToArray();
        }

        _sigmas = new float[steps + 1];
        for (var i = 0; i < steps; i++)
        {
            _sigmas[i] = (float)sigmas[i];
        }
        Timesteps = timesteps.Select(t => (float)(long)t).ToArray();
    }

    /// <inheritdoc />
    public string Name => UsesKarrasSigmas ? SchedulerNames.DpmSolverMultistepKarras : SchedulerNames.DpmSolverMultistep;

    /// <summary>Whether the sigmas follow Karras et al. (2022) instead of the training schedule.</summary>
    public bool UsesKarrasSigmas { get; }

    /// <inheritdoc />
    public IReadOnlyList<float> Timesteps { get; }

    /// <summary>The sigma of each step plus the final 0 (diffusers' <c>scheduler.sigmas</c>).</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;

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
        if (stepIndex != _nextStep)
        {
            throw new InvalidOperationException(
                $"DPM-Solver++ steps must run in order on a fresh scheduler (expected step {_nextStep}, got {stepIndex})");
        }
        if (_currentPrediction.Length != sample.Length)
        {
            _currentPrediction = new float[sample.Length];
            _previousPrediction = new float[sample.Length];
        }

        // model_outputs shifts by one: the last step's data prediction becomes the previous one.
        (_previousPrediction, _currentPrediction) = (_currentPrediction, _previousPrediction);
        ConvertModelOutput(modelOutput, stepIndex, sample, _currentPrediction);

        // lower_order_final with final_sigmas_type "zero": the last step is always first order.
        var isLastStep = stepIndex == Timesteps.Count - 1;
        if (_lowerOrderCount < 1 || isLastStep)
        {
            FirstOrderUpdate(stepIndex, sample);
        }
        else
        {
            SecondOrderUpdate(stepIndex, sample);
        }
        _lowerOrderCount = Math.Min(_lowerOrderCount + 1, 2);
        _nextStep++;
    }

    // The torch scalars of _sigma_to_alpha_sigma_t: alpha = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha.
    private (float Alpha, float Sigma, float Lambda) Coefficients(int index)
    {
        var sigma = _sigmas[index];
        var alpha = 1.0f / MathF.Sqrt(sigma * sigma + 1.0f);
        var sigmaT = sigma * alpha;
        return (alpha, sigmaT, MathF.Log(alpha) - MathF.Log(sigmaT));
    }

    // convert_model_output for dpmsolver++: the data prediction x0.
    private void ConvertModelOutput(ReadOnlySpan<float> modelOutput, int stepIndex, ReadOnlySpan<float> sample, Span<float> prediction)
    {
        var (alpha, sigma, _) = Coefficients(stepIndex);
        for (var i = 0; i < sample.Length; i++)
        {
            prediction[i] = _predictionType == PredictionType.Epsilon
                ? (sample[i] - sigma * modelOutput[i]) / alpha
                : alpha * sample[i] - sigma * modelOutput[i];
        }
    }

    // x_t = (sigma_t / sigma_s) x - alpha_t (e^-h - 1) D0
    private void FirstOrderUpdate(int stepIndex, Span<float> sample)
    {
        var (alphaT, sigmaT, lambdaT) = Coefficients(stepIndex + 1);
        var (_, sigmaS, lambdaS) = Coefficients(stepIndex);
        var h = lambdaT - lambdaS;
        var sampleScale = sigmaT / sigmaS;
        var predictionScale = alphaT * (MathF.Exp(-h) - 1.0f);
        for (var i = 0; i < sample.Length; i++)
        {
            sample[i] = sampleScale * sample[i] - predictionScale * _currentPrediction[i];
        }
    }

    // Midpoint DPM-Solver++(2M): D0 = m0, D1 = (m0 - m1) / r0 with r0 = h_0 / h,
    // x_t = (sigma_t / sigma_s0) x - alpha_t (e^-h - 1) D0 - 0.5 alpha_t (e^-h - 1) D1
    private void SecondOrderUpdate(int stepIndex, Span<float> sample)
    {
        var (alphaT, sigmaT, lambdaT) = Coefficients(stepIndex + 1);
        var (_, sigmaS0, lambdaS0) = Coefficients(stepIndex);
        var (_, _, lambdaS1) = Coefficients(stepIndex - 1);
        var h = lambdaT - lambdaS0;
        var h0 = lambdaS0 - lambdaS1;
        var r0 = h0 / h;
        var differenceScale = 1.0f / r0;
        var sampleScale = sigmaT / sigmaS0;
        var predictionScale = alphaT * (MathF.Exp(-h) - 1.0f);
        var halfPredictionScale = 0.5f * predictionScale;
        for (var i = 0; i < sample.Length; i++)
        {
            var d0 = _currentPrediction[i];
            var d1 = differenceScale * (d0 - _previousPrediction[i]);
            sample[i] = sampleScale * sample[i] - predictionScale * d0 - halfPredictionScale * d1;
        }
    }
}
