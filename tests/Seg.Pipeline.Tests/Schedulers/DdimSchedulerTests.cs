using Seg.Pipeline.Noise;
using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class DdimSchedulerTests
{
    [Fact]
    public void SdxlTimestepsAreLeadingWithOffset()
    {
        var scheduler = new DdimScheduler(SchedulerConfig.SdxlBase, 20);

        var expected = Enumerable.Range(0, 20).Reverse().Select(i => (float)(i * 50 + 1));
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Equal(1f, scheduler.InitNoiseSigma);
    }

    [Fact]
    public void ScaleModelInputIsTheIdentity()
    {
        var scheduler = new DdimScheduler(SchedulerConfig.SdxlBase, 10);
        float[] sample = [1.5f, -2f];
        var scaled = new float[2];

        scheduler.ScaleModelInput(sample, 3, scaled);

        Assert.Equal(sample, scaled);
    }

    [Fact]
    public void StepsFollowTheDdimUpdate()
    {
        // Song et al. (2021), eq. 12 with eta = 0:
        // x0 = (x - sqrt(1 - a_t) eps) / sqrt(a_t);  x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps,
        // a_prev = alphas_cumprod[t - 1000 // steps], or alphas_cumprod[0] past the start (set_alpha_to_one false).
        const int steps = 4;
        var scheduler = new DdimScheduler(SchedulerConfig.SdxlBase, steps);
        var train = ReferenceSchedule.Sdxl;
        float[] sample = [0.9f, -1.3f, 0.2f, 2.4f];
        var expected = sample.Select(v => (double)v).ToArray();

        for (var step = 0; step < steps; step++)
        {
            var eps = EulerAncestralDiscreteSchedulerTests.Pattern(sample.Length, 0.6f + 0.1f * step);
            var t = (int)scheduler.Timesteps[step];
            var previous = t - 1000 / steps;
            var alpha = train.AlphaCumprod(t);
            var alphaPrevious = previous >= 0 ? train.AlphaCumprod(previous) : train.AlphaCumprod(0);
            for (var i = 0; i < sample.Length; i++)
            {
                var x0 = (expected[i] - Math.Sqrt(1 - alpha) * eps[i]) / Math.Sqrt(alpha);
                expected[i] = Math.Sqrt(alphaPrevious) * x0 + Math.Sqrt(1 - alphaPrevious) * eps[i];
            }

            scheduler.Step(eps, step, sample, new TorchGenerator(0));

            for (var i = 0; i < sample.Length; i++)
            {
                Assert.Equal(expected[i], sample[i], 2e-4 * Math.Max(1, Math.Abs(expected[i])));
            }
        }
    }

    [Fact]
    public void VPredictionStep()
    {
        // x0 = sqrt(a) x - sqrt(1 - a) v;  eps = sqrt(a) v + sqrt(1 - a) x
        var config = SchedulerConfig.SdxlBase with { PredictionType = PredictionType.VPrediction };
        var scheduler = new DdimScheduler(config, 10);
        var train = ReferenceSchedule.Sdxl;
        float[] sample = [0.4f, -0.8f];
        float[] velocity = [0.1f, 0.7f];
        var t = (int)scheduler.Timesteps[2];
        double a = train.AlphaCumprod(t), aPrevious = train.AlphaCumprod(t - 100);
        var expected = new double[2];
        for (var i = 0; i < 2; i++)
        {
            var x0 = Math.Sqrt(a) * sample[i] - Math.Sqrt(1 - a) * velocity[i];
            var eps = Math.Sqrt(a) * velocity[i] + Math.Sqrt(1 - a) * sample[i];
            expected[i] = Math.Sqrt(aPrevious) * x0 + Math.Sqrt(1 - aPrevious) * eps;
        }

        scheduler.Step(velocity, 2, sample, new TorchGenerator(0));

        Assert.Equal(expected[0], sample[0], 1e-4);
        Assert.Equal(expected[1], sample[1], 1e-4);
    }

    [Fact]
    public void DefaultConfigClipsThePredictedSampleAndEndsAtAlphaOne()
    {
        // Without clip_sample / set_alpha_to_one in the file DDIM uses its own defaults (true, true): the last
        // step returns x0 clipped to [-1, 1].
        var config = SchedulerConfig.SdxlBase with { ClipSample = null, SetAlphaToOne = null };
        var scheduler = new DdimScheduler(config, 10);
        float[] sample = [0.5f, 0.5f];
        float[] eps = [-30f, 0f];

        scheduler.Step(eps, 9, sample, new TorchGenerator(0));

        var alpha = ReferenceSchedule.Sdxl.AlphaCumprod(1);
        Assert.Equal(1f, sample[0]);
        Assert.Equal(Math.Min(1, 0.5 / Math.Sqrt(alpha)), sample[1], 1e-5);
    }

    [Fact]
    public void LinspaceAndTrailingSpacing()
    {
        var linspace = new DdimScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Linspace }, 4);
        Assert.Equal([999f, 666f, 333f, 0f], linspace.Timesteps);
        var trailing = new DdimScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Trailing }, 4);
        Assert.Equal([999f, 749f, 499f, 249f], trailing.Timesteps);
    }
}
