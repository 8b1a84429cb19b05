using System.Text.Json;
using Seg.Pipeline.Noise;
using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class EulerAncestralDiscreteSchedulerTests
{
    private const int LatentSize = 4 * 8 * 8;

    [Fact]
    public void SdxlScheduleIsTheEulerSchedule()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("euler_sdxl_schedules.json")));
        var expected = json.RootElement.GetProperty("schedules").GetProperty("20");

        var scheduler = new EulerAncestralDiscreteScheduler(SchedulerConfig.SdxlBase, 20);

        EulerDiscreteSchedulerTests.AssertRelative(
            expected.GetProperty("sigmas").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            scheduler.Sigmas.Select(s => (double)s).ToArray());
        Assert.Equal(expected.GetProperty("timesteps").EnumerateArray().Select(e => (float)e.GetDouble()), scheduler.Timesteps);
        Assert.Equal(expected.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma, 1e-5);
    }

    [Fact]
    public void StepIsAnEulerStepToSigmaDownPlusSigmaUpTimesTheNextRandn()
    {
        // sigma_up = sqrt(s_to^2 (s^2 - s_to^2) / s^2), sigma_down = sqrt(s_to^2 - sigma_up^2);
        // x' = x + (x - denoised) / s * (sigma_down - s) + sigma_up * z, with z the generator's next torch.randn.
        var scheduler = new EulerAncestralDiscreteScheduler(SchedulerConfig.SdxlBase, 20);
        var generator = new TorchGenerator(1234);
        var sample = generator.Normal(LatentSize);
        var eps = Pattern(LatentSize, 0.37f);
        var original = sample.ToArray();

        var mirror = new TorchGenerator(1234);
        mirror.Normal(LatentSize);
        var z = mirror.Normal(LatentSize);

        const int step = 5;
        scheduler.Step(eps, step, sample, generator);

        double s = scheduler.Sigmas[step], to = scheduler.Sigmas[step + 1];
        var up = Math.Sqrt(to * to * (s * s - to * to) / (s * s));
        var down = Math.Sqrt(to * to - up * up);
        for (var i = 0; i < LatentSize; i++)
        {
            var denoised = original[i] - s * eps[i];
            var expected = original[i] + (original[i] - denoised) / s * (down - s) + up * z[i];
            Assert.Equal(expected, sample[i], 2e-5 * Math.Max(1, Math.Abs(expected)));
        }
    }

    [Fact]
    public void SameSeedGivesTheSameTrajectory()
    {
        var first = Run(seed: 99);
        var again = Run(seed: 99);
        var other = Run(seed: 100);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void LastStepDrawsNoiseButAddsNone()
    {
        var scheduler = new EulerAncestralDiscreteScheduler(SchedulerConfig.SdxlBase, 10);
        var generator = new TorchGenerator(5);
        float[] sample = [3f, -2f];
        float[] eps = [0.5f, 1f];
        double sigma = scheduler.Sigmas[9];

        scheduler.Step(eps, 9, sample, generator);

        Assert.Equal(3 - sigma * 0.5, sample[0], 1e-6);
        Assert.Equal(-2 - sigma * 1.0, sample[1], 1e-6);
        // diffusers draws the step's noise even when sigma_up is 0, so the generator moved on by one call.
        var mirror = new TorchGenerator(5);
        mirror.Normal(2);
        Assert.Equal(mirror.Normal(2), generator.Normal(2));
    }

    [Fact]
    public void VPredictionUsesTheVelocityParameterisation()
    {
        var config = SchedulerConfig.SdxlBase with { PredictionType = PredictionType.VPrediction };
        var scheduler = new EulerAncestralDiscreteScheduler(config, 20);
        float[] sample = [2f, -1f];
        float[] velocity = [0.5f, 0.25f];
        var original = sample.ToArray();
        var mirror = new TorchGenerator(8);
        var z = mirror.Normal(2);

        scheduler.Step(velocity, 2, sample, new TorchGenerator(8));

        double s = scheduler.Sigmas[2], to = scheduler.Sigmas[3];
        var up = Math.Sqrt(to * to * (s * s - to * to) / (s * s));
        var down = Math.Sqrt(to * to - up * up);
        for (var i = 0; i < 2; i++)
        {
            var denoised = -s / Math.Sqrt(s * s + 1) * velocity[i] + original[i] / (s * s + 1);
            var expected = original[i] + (original[i] - denoised) / s * (down - s) + up * z[i];
            Assert.Equal(expected, sample[i], 1e-5);
        }
    }

    [Fact]
    public void StepNeedsAGenerator()
    {
        var scheduler = new EulerAncestralDiscreteScheduler(SchedulerConfig.SdxlBase, 4);
        Assert.Throws<ArgumentNullException>(() => scheduler.Step(new float[1], 0, new float[1], null!));
    }

    private static float[] Run(ulong seed)
    {
        var scheduler = new EulerAncestralDiscreteScheduler(SchedulerConfig.SdxlBase, 6);
        var generator = new TorchGenerator(seed);
        var latents = generator.Normal(LatentSize);
        for (var i = 0; i < latents.Length; i++)
        {
            latents[i] *= scheduler.InitNoiseSigma;
        }
        var input = new float[LatentSize];
        for (var step = 0; step < 6; step++)
        {
            scheduler.ScaleModelInput(latents, step, input);
            // A stand-in model: predicts a fixed fraction of its input as noise.
            var eps = input.Select(v => 0.8f * v).ToArray();
            scheduler.Step(eps, step, latents, generator);
        }
        return latents;
    }

    internal static float[] Pattern(int length, float scale)
    {
        return Enumerable.Range(0, length).Select(i => scale * MathF.Sin(0.7f * i + 0.3f)).ToArray();
    }
}
