namespace Seg.Pipeline.Schedulers;

/// <summary>
/// The noise-schedule arithmetic diffusers 0.27 shares between its schedulers, reproduced with the same
/// precision at each step: torch float32 for betas and alphas_cumprod (cumprod accumulates in double on the
/// CPU), numpy float64 for spacing, interpolation and Karras sigmas, then a cast to float32.
/// </summary>
internal static class DiffusionMath
{
    // torch's AVX2 kernels work on 8 floats and the elementwise loop takes two vectors per iteration.
    private const int TorchVectorWidth = 8;

    /// <summary>Karras et al. (2022) use rho = 7.</summary>
    private const double KarrasRho = 7.0;

    /// <summary>The training betas as float32, as diffusers builds them with torch.</summary>
    public static float[] Betas(SchedulerConfig config)
    {
        if (config.TrainedBetas is { } trained)
        {
            return trained.Select(b => (float)b).ToArray();
        }
        if (config.BetaSchedule == BetaSchedule.Linear)
        {
            return TorchLinspaceSingle(config.BetaStart, config.BetaEnd, config.NumTrainTimesteps);
        }
        var roots = TorchLinspaceSingle(Math.Sqrt(config.BetaStart), Math.Sqrt(config.BetaEnd), config.NumTrainTimesteps);
        return roots.Select(r => r * r).ToArray();
    }

    /// <summary><c>torch.cumprod(1 - betas)</c>: float32 values, the running product kept in double.</summary>
    public static float[] AlphasCumprod(SchedulerConfig config)
    {
        var betas = Betas(config);
        var cumprod = new float[betas.Length];
        var running = 1.0;
        for (var i = 0; i < betas.Length; i++)
        {
            running *= 1.0f - betas[i];
            cumprod[i] = (float)running;
        }
        return cumprod;
    }

    /// <summary><c>((1 - alphas_cumprod) / alphas_cumprod) ** 0.5</c> in float32, indexed by training step.</summary>
    public static float[] TrainSigmas(float[] alphasCumprod)
    {
        return alphasCumprod.Select(a => MathF.Sqrt((1.0f - a) / a)).ToArray();
    }

    /// <summary>
    /// <c>torch.linspace(start, end, steps, dtype=float32)</c> on an AVX2 CPU: values below the halfway index
    /// count up from start, the others down from end, and inside each 8-wide vector they are base + k * step.
    /// torch's AVX2 kernels are built with FMA and GCC contracts a * b + c into one fused operation; only the
    /// fused form reproduces diffusers' SDXL sigmas bit for bit.
    /// </summary>
    public static float[] TorchLinspaceSingle(double startValue, double endValue, int steps)
    {
        var result = new float[steps];
        if (steps == 1)
        {
            result[0] = (float)startValue;
            return result;
        }

        var start = (float)startValue;
        var end = (float)endValue;
        var step = (end - start) / (steps - 1);
        var halfway = steps / 2;

        float Scalar(int index) => index < halfway
            ? MathF.FusedMultiplyAdd(step, index, start)
            : MathF.FusedMultiplyAdd(-step, steps - index - 1, end);

        void Vector(int first)
        {
            var value = Scalar(first);
            result[first] = value;
            for (var k = 1; k < TorchVectorWidth; k++)
            {
                result[first + k] = MathF.FusedMultiplyAdd(k, step, value);
            }
        }

        var i = 0;
        for (; i <= steps - 2 * TorchVectorWidth; i += 2 * TorchVectorWidth)
        {
            Vector(i);
            Vector(i + TorchVectorWidth);
        }
        for (; i < steps; i++)
        {
            result[i] = Scalar(i);
        }
        return result;
    }

    /// <summary><c>np.linspace(start, stop, num)</c> in float64.</summary>
    public static double[] NumpyLinspace(double start, double stop, int num)
    {
        var result = new double[num];
        if (num == 1)
        {
            result[0] = start;
            return result;
        }
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++)
        {
            result[i] = i * step + start;
        }
        result[^1] = stop;
        return result;
    }

    /// <summary><c>np.arange(start, stop, step)</c> for float64: start + i * ((start + step) - start).</summary>
    public static double[] NumpyArange(double start, double stop, double step)
    {
        var length = (int)Math.Max(0, Math.Ceiling((stop - start) / step));
        var result = new double[length];
        var delta = (start + step) - start;
        for (var i = 0; i < length; i++)
        {
            result[i] = i == 1 ? start + step : start + i * delta;
        }
        return result;
    }

    /// <summary><c>np.interp(x, np.arange(len(fp)), fp)</c>.</summary>
    public static double Interp(double x, float[] fp)
    {
        var last = fp.Length - 1;
        if (x <= 0)
        {
            return fp[0];
        }
        if (x >= last)
        {
            return fp[last];
        }
        var j = (int)Math.Floor(x);
        if (j == x)
        {
            return fp[j];
        }
        var slope = (double)fp[j + 1] - fp[j];
        return slope * (x - j) + fp[j];
    }

    /// <summary>The Karras et al. (2022) sigmas from sigma_max down to sigma_min, rho = 7, in float64.</summary>
    public static double[] KarrasSigmas(double sigmaMin, double sigmaMax, int steps)
    {
        var ramp = NumpyLinspace(0, 1, steps);
        var minInvRho = Math.Pow(sigmaMin, 1 / KarrasRho);
        var maxInvRho = Math.Pow(sigmaMax, 1 / KarrasRho);
        return ramp.Select(r => Math.Pow(maxInvRho + r * (minInvRho - maxInvRho), KarrasRho)).ToArray();
    }

    /// <summary>
    /// diffusers' <c>_sigma_to_t</c>: the fractional training step whose sigma is <paramref name="sigma"/>,
    /// interpolated linearly in log sigma. <paramref name="logSigmas"/> is the float32 <c>np.log(sigmas)</c>.
    /// </summary>
    public static double SigmaToT(double sigma, float[] logSigmas)
    {
        var logSigma = Math.Log(Math.Max(sigma, 1e-10));

        // argmax of the cumulative count of (log_sigma - log_sigmas[i] >= 0): the first index where the count
        // reaches its maximum, 0 when no entry qualifies.
        var count = 0;
        var best = 0;
        var lowIndex = 0;
        for (var i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0)
            {
                count++;
            }
            if (count > best)
            {
                best = count;
                lowIndex = i;
            }
        }
        lowIndex = Math.Min(lowIndex, logSigmas.Length - 2);
        var highIndex = lowIndex + 1;

        var low = logSigmas[lowIndex];
        var high = logSigmas[highIndex];
        var weight = (low - logSigma) / (low - high);
        weight = Math.Clamp(weight, 0, 1);
        return (1 - weight) * lowIndex + weight * highIndex;
    }

    /// <summary>
    /// The timesteps and sigmas of diffusers' Euler schedulers (<c>set_timesteps</c>): float32 timesteps by the
    /// spacing rule, training sigmas interpolated at them (or the Karras sigmas between the first and last of
    /// those, mapped back to fractional timesteps), then a final sigma of 0.
    /// </summary>
    public static (float[] Timesteps, float[] Sigmas) EulerSchedule(
        SchedulerConfig config, TimestepSpacing spacing, int steps, bool useKarrasSigmas)
    {
        var trainSteps = config.NumTrainTimesteps;
        double[] timesteps;
        switch (spacing)
        {
            case TimestepSpacing.Linspace:
                timesteps = NumpyLinspace(0, trainSteps - 1, steps).Select(t => (double)(float)t).Reverse().ToArray();
                break;
            case TimestepSpacing.Leading:
                var ratio = trainSteps / steps;
                timesteps = Enumerable.Range(0, steps).Reverse().Select(i => (double)(i * ratio + config.StepsOffset)).ToArray();
                break;
            default:
                timesteps = TrailingTimesteps(trainSteps, steps);
                break;
        }

        var trainSigmas = TrainSigmas(AlphasCumprod(config));
        var sigmas = timesteps.Select(t => Interp(t, trainSigmas)).ToArray();
        if (useKarrasSigmas)
        {
            var logSigmas = trainSigmas.Select(s => MathF.Log(s)).ToArray();
            sigmas = KarrasSigmas(sigmaMin: sigmas[^1], sigmaMax: sigmas[0], steps);
            timesteps = sigmas.Select(s => SigmaToT(s, logSigmas)).ToArray();
        }

        var sigmasSingle = new float[steps + 1];
        for (var i = 0; i < steps; i++)
        {
            sigmasSingle[i] = (float)sigmas[i];
        }
        return (timesteps.Select(t => (float)t).ToArray(), sigmasSingle);
    }

    /// <summary>
    /// <c>np.arange(train_steps, 0, -train_steps / steps).round() - 1</c>, the trailing rule shared by the
    /// schedulers.
    /// </summary>
    public static double[] TrailingTimesteps(int trainSteps, int steps)
    {
        var values = NumpyArange(trainSteps, 0, -(double)trainSteps / steps).Select(t => RoundHalfEven(t) - 1).ToArray();
        if (values.Length != steps)
        {
            // numpy's arange length is ceil(-train_steps / -(train_steps / steps)), which rounds up to steps + 1
            // for some counts (61, 103, 121, ...): diffusers then runs an extra step at timestep -1. Refuse
            // rather than silently disagree with diffusers or with the requested step count.
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"steps {steps} with timestep_spacing trailing gives {values.Length} timesteps in diffusers (a numpy rounding quirk); choose another step count");
        }
        return values;
    }

    /// <summary>The largest sigma and diffusers' <c>init_noise_sigma</c> for the Euler schedulers.</summary>
    public static float InitNoiseSigma(float[] sigmas, TimestepSpacing spacing)
    {
        var max = sigmas.Max();
        return spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing ? max : MathF.Sqrt(max * max + 1.0f);
    }

    /// <summary>Rounds half to even, as numpy's round does.</summary>
    public static double RoundHalfEven(double value) => Math.Round(value, MidpointRounding.ToEven);

    /// <summary>Checks the requested step count against the training schedule.</summary>
    public static void ValidateSteps(int steps, SchedulerConfig config)
    {
        if (steps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be > 0 (got {steps})");
        }
        if (steps > config.NumTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"steps must be <= num_train_timesteps ({config.NumTrainTimesteps}) (got {steps})");
        }
    }

    /// <summary>Checks a step index and the lengths of the spans a scheduler step receives.</summary>
    public static void ValidateStep(int stepIndex, int stepCount, int sampleLength, int otherLength, string otherName)
    {
        if (stepIndex < 0 || stepIndex >= stepCount)
        {
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex,
                $"stepIndex must be in [0, {stepCount - 1}] (got {stepIndex})");
        }
        if (otherLength != sampleLength)
        {
            throw new ArgumentException(
                $"{otherName} must have as many values as the sample ({sampleLength}) (got {otherLength})", otherName);
        }
    }
}
