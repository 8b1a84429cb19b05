using Seg.Pipeline.Noise;
using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class DpmSolverMultistepSchedulerTests
{
    [Fact]
    public void SdxlLeadingTimestepsAndSigmas()
    {
        // leading: step_ratio = 1000 // (steps + 1) = 47; timesteps 20 * 47 .. 1 * 47, plus steps_offset 1.
        var scheduler = new DpmSolverMultistepScheduler(SchedulerConfig.SdxlBase, 20);

        var expected = Enumerable.Range(1, 20).Reverse().Select(i => i * 47 + 1).ToArray();
        Assert.Equal(expected.Select(t => (float)t), scheduler.Timesteps);
        Assert.Equal(1f, scheduler.InitNoiseSigma);
        Assert.Equal(21, scheduler.Sigmas.Count);
        for (var i = 0; i < 20; i++)
        {
            var sigma = ReferenceSchedule.Sdxl.Sigma(expected[i]);
            Assert.Equal(sigma, scheduler.Sigmas[i], 2e-5 * sigma);
        }
        Assert.Equal(0f, scheduler.Sigmas[20]);
    }

    [Fact]
    public void KarrasSigmasSpanTheWholeTrainingSchedule()
    {
        // Karras et al. (2022), eq. 5, rho = 7, from the largest to the smallest training sigma; timesteps are
        // the rounded training steps of those sigmas (interpolated in log sigma); final sigma 0.
        const int steps = 12;
        var scheduler = new DpmSolverMultistepScheduler(SchedulerConfig.SdxlBase with { UseKarrasSigmas = true }, steps);
        var train = ReferenceSchedule.Sdxl;
        var maxRoot = Math.Pow(train.MaxSigma, 1 / 7.0);
        var minRoot = Math.Pow(train.MinSigma, 1 / 7.0);

        for (var i = 0; i < steps; i++)
        {
            var sigma = Math.Pow(maxRoot + (double)i / (steps - 1) * (minRoot - maxRoot), 7);
            Assert.Equal(sigma, scheduler.Sigmas[i], 2e-5 * sigma);
            Assert.True(Math.Abs(train.TimestepOfSigma(sigma) - scheduler.Timesteps[i]) <= 0.51,
                $"step {i}: timestep {scheduler.Timesteps[i]} for a sigma at training step {train.TimestepOfSigma(sigma)}");
            Assert.Equal(Math.Round(scheduler.Timesteps[i]), scheduler.Timesteps[i]);
        }
        Assert.Equal(0f, scheduler.Sigmas[steps]);
        Assert.Equal("dpmpp_2m_karras", scheduler.Name);
    }

    [Fact]
    public void StepsFollowDpmSolverPlusPlus2M()
    {
        // Lu et al. (2022), DPM-Solver++(2M) with the midpoint form diffusers uses. For sigma s:
        // alpha = 1 / sqrt(s^2 + 1), sigma_t = s * alpha, lambda = log(alpha) - log(sigma_t), x0 = (x - sigma_t eps) / alpha.
        // First step (and the last, which lands on sigma 0): x' = (sigma_t' / sigma_t) x - alpha' (e^-h - 1) x0.
        // Otherwise, with D1 = (x0 - x0_prev) / r0, r0 = h_prev / h:
        // x' = (sigma_t' / sigma_t) x - alpha' (e^-h - 1) x0 - 0.5 alpha' (e^-h - 1) D1.
        const int steps = 5;
        var scheduler = new DpmSolverMultistepScheduler(SchedulerConfig.SdxlBase, steps);
        float[] sample = [0.8f, -1.1f, 2.0f, 0.05f, -0.4f];
        var expected = sample.Select(v => (double)v).ToArray();
        double[]? previousX0 = null;

        for (var step = 0; step < steps; step++)
        {
            var eps = EulerAncestralDiscreteSchedulerTests.Pattern(sample.Length, 0.9f - 0.1f * step);
            var (alpha, sigmaT, lambda) = Coefficients(scheduler.Sigmas[step]);
            var (alphaNext, sigmaNext, lambdaNext) = Coefficients(scheduler.Sigmas[step + 1]);
            var h = lambdaNext - lambda;
            var x0 = expected.Select((x, i) => (x - sigmaT * eps[i]) / alpha).ToArray();
            var firstOrder = previousX0 is null || step == steps - 1;
            for (var i = 0; i < sample.Length; i++)
            {
                var update = sigmaNext / sigmaT * expected[i] - alphaNext * double.ExpM1(-h) * x0[i];
                if (!firstOrder)
                {
                    var (_, _, lambdaPrevious) = Coefficients(scheduler.Sigmas[step - 1]);
                    var r0 = (lambda - lambdaPrevious) / h;
                    var d1 = (x0[i] - previousX0![i]) / r0;
                    update -= 0.5 * alphaNext * double.ExpM1(-h) * d1;
                }
                expected[i] = update;
            }
            previousX0 = x0;

            scheduler.Step(eps, step, sample, new TorchGenerator(0));

            for (var i = 0; i < sample.Length; i++)
            {
                Assert.Equal(expected[i], sample[i], 1e-4 * Math.Max(1, Math.Abs(expected[i])));
            }
        }
        // The last step lands on sigma 0, i.e. on the data prediction itself.
        for (var i = 0; i < sample.Length; i++)
        {
            Assert.Equal(previousX0![i], sample[i], 1e-4 * Math.Max(1, Math.Abs(previousX0[i])));
        }
    }

    [Fact]
    public void VPredictionConvertsToTheDataPrediction()
    {
        // x0 = alpha x - sigma_t v; the first step is first order.
        var config = SchedulerConfig.SdxlBase with { PredictionType = PredictionType.VPrediction };
        var scheduler = new DpmSolverMultistepScheduler(config, 10);
        float[] sample = [1.2f, -0.3f];
        float[] velocity = [0.4f, -0.9f];
        var (alpha, sigmaT, lambda) = Coefficients(scheduler.Sigmas[0]);
        var (alphaNext, sigmaNext, lambdaNext) = Coefficients(scheduler.Sigmas[1]);
        var expected = new double[2];
        for (var i = 0; i < 2; i++)
        {
            var x0 = alpha * sample[i] - sigmaT * velocity[i];
            expected[i] = sigmaNext / sigmaT * sample[i] - alphaNext * double.ExpM1(-(lambdaNext - lambda)) * x0;
        }

        scheduler.Step(velocity, 0, sample, new TorchGenerator(0));

        Assert.Equal(expected[0], sample[0], 1e-5);
        Assert.Equal(expected[1], sample[1], 1e-5);
    }

    [Fact]
    public void StepsMustRunInOrder()
    {
        var scheduler = new DpmSolverMultistepScheduler(SchedulerConfig.SdxlBase, 10);
        scheduler.Step(new float[2], 0, new float[2], new TorchGenerator(0));

        var error = Assert.Throws<InvalidOperationException>(() => scheduler.Step(new float[2], 2, new float[2], new TorchGenerator(0)));
        Assert.Contains("expected step 1, got 2", error.Message);
    }

    [Fact]
    public void LinspaceSpacingRoundsHalfToEven()
    {
        // np.linspace(0, 999, 9) = 0, 124.875, 249.75, 374.625, 499.5, ... -> rounded, reversed, last dropped.
        var scheduler = new DpmSolverMultistepScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Linspace }, 8);
        Assert.Equal([999f, 874f, 749f, 624f, 500f, 375f, 250f, 125f], scheduler.Timesteps);
    }

    private static (double Alpha, double SigmaT, double Lambda) Coefficients(double sigma)
    {
        var alpha = 1 / Math.Sqrt(sigma * sigma + 1);
        var sigmaT = sigma * alpha;
        return (alpha, sigmaT, Math.Log(alpha) - Math.Log(sigmaT));
    }
}
