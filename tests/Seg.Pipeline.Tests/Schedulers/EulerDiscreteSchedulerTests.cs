using System.Text.Json;
using Seg.Pipeline.Noise;
using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class EulerDiscreteSchedulerTests
{
    private const double RelativeTolerance = 1e-6;

    [Theory]
    [InlineData(20)]
    [InlineData(25)]
    [InlineData(30)]
    public void SdxlScheduleMatchesDiffusers(int steps)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("euler_sdxl_schedules.json")));
        var expected = json.RootElement.GetProperty("schedules").GetProperty(steps.ToString());
        var expectedTimesteps = Doubles(expected.GetProperty("timesteps"));
        var expectedSigmas = Doubles(expected.GetProperty("sigmas"));

        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, steps);

        AssertRelative(expectedTimesteps, scheduler.Timesteps.Select(t => (double)t).ToArray());
        AssertRelative(expectedSigmas, scheduler.Sigmas.Select(s => (double)s).ToArray());
        AssertRelative([expected.GetProperty("init_noise_sigma").GetDouble()], [scheduler.InitNoiseSigma]);
    }

    [Fact]
    public void SdxlSigmasAreBitExact()
    {
        // With torch's fused multiply-add linspace and double-accumulated cumprod reproduced, the float32 sigmas
        // at integer timesteps are the very values diffusers holds.
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("euler_sdxl_schedules.json")));
        var expected = Doubles(json.RootElement.GetProperty("schedules").GetProperty("30").GetProperty("sigmas"));

        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 30);

        Assert.Equal(expected.Select(s => (float)s), scheduler.Sigmas);
    }

    [Fact]
    public void SdxlConfigFromTheReferenceFileGivesTheSameSchedule()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("euler_sdxl_schedules.json")));
        var config = SchedulerConfig.Parse(json.RootElement.GetProperty("config").GetRawText());

        var fromFile = new EulerDiscreteScheduler(config, 25);
        var builtIn = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 25);

        Assert.Equal(builtIn.Sigmas, fromFile.Sigmas);
        Assert.Equal(builtIn.Timesteps, fromFile.Timesteps);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(7)]
    public void KarrasSigmasFollowTheKarrasFormula(int steps)
    {
        // Karras et al. (2022), eq. 5: sigma_i = (smax^(1/rho) + i/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho, rho = 7,
        // between the first and last sigma of the plain schedule.
        var plain = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, steps);
        var karras = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase with { UseKarrasSigmas = true }, steps);

        double sigmaMax = plain.Sigmas[0];
        double sigmaMin = plain.Sigmas[steps - 1];
        var expected = new double[steps + 1];
        for (var i = 0; i < steps; i++)
        {
            var ramp = (double)i / (steps - 1);
            var root = Math.Pow(sigmaMax, 1 / 7.0) + ramp * (Math.Pow(sigmaMin, 1 / 7.0) - Math.Pow(sigmaMax, 1 / 7.0));
            expected[i] = Math.Pow(root, 7);
        }
        AssertRelative(expected, karras.Sigmas.Select(s => (double)s).ToArray());
        Assert.Equal(MathF.Sqrt(karras.Sigmas[0] * karras.Sigmas[0] + 1), karras.InitNoiseSigma, 6);

        // The timesteps are where the training sigmas (interpolated in log sigma) equal the Karras sigmas.
        var train = ReferenceSchedule.Sdxl;
        for (var i = 0; i < steps; i++)
        {
            Assert.Equal(train.TimestepOfSigma(expected[i]), karras.Timesteps[i], 0.01);
        }
    }

    [Fact]
    public void ScaleModelInputDividesBySqrtOfSigmaSquaredPlusOne()
    {
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 20);
        float[] sample = [1f, -2f, 0.5f, 3.25f];
        var scaled = new float[sample.Length];

        for (var step = 0; step < 20; step += 7)
        {
            scheduler.ScaleModelInput(sample, step, scaled);
            var sigma = (double)scheduler.Sigmas[step];
            for (var i = 0; i < sample.Length; i++)
            {
                Assert.Equal(sample[i] / Math.Sqrt(sigma * sigma + 1), scaled[i], 1e-6 * Math.Abs(sample[i]));
            }
        }
    }

    [Fact]
    public void EpsilonStepMovesAlongTheNoiseBySigmaDifference()
    {
        // x_next = x + (sigma_next - sigma) * eps, with the sigmas of SDXL's 20-step schedule.
        const double sigma0 = 11.028334617614746;
        const double sigma1 = 8.390686988830566;
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 20);
        float[] sample = [1f, -3f, 10f];
        float[] eps = [0.5f, 0.25f, -1f];

        scheduler.Step(eps, 0, sample, new TorchGenerator(0));

        Assert.Equal(1 + (sigma1 - sigma0) * 0.5, sample[0], 1e-5);
        Assert.Equal(-3 + (sigma1 - sigma0) * 0.25, sample[1], 1e-5);
        Assert.Equal(10 + (sigma1 - sigma0) * -1, sample[2], 1e-5);
    }

    [Fact]
    public void LastStepLandsOnTheDenoisedSample()
    {
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 20);
        double sigma = scheduler.Sigmas[19];
        float[] sample = [2f];
        float[] eps = [1.5f];

        scheduler.Step(eps, 19, sample, new TorchGenerator(0));

        Assert.Equal(2 - sigma * 1.5, sample[0], 1e-6);
    }

    [Fact]
    public void VPredictionStepUsesTheVelocityParameterisation()
    {
        // denoised = -sigma / sqrt(sigma^2 + 1) * v + x / (sigma^2 + 1); x_next = x + (x - denoised) / sigma * dt
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase with { PredictionType = PredictionType.VPrediction }, 20);
        double sigma = scheduler.Sigmas[3];
        double sigmaNext = scheduler.Sigmas[4];
        float[] sample = [4f, -1f];
        float[] velocity = [0.3f, -2f];
        var expected = new double[2];
        for (var i = 0; i < 2; i++)
        {
            var denoised = -sigma / Math.Sqrt(sigma * sigma + 1) * velocity[i] + sample[i] / (sigma * sigma + 1);
            expected[i] = sample[i] + (sample[i] - denoised) / sigma * (sigmaNext - sigma);
        }

        scheduler.Step(velocity, 3, sample, new TorchGenerator(0));

        Assert.Equal(expected[0], sample[0], 1e-5);
        Assert.Equal(expected[1], sample[1], 1e-5);
    }

    [Fact]
    public void TrailingAndLinspaceSpacingFollowTheirRules()
    {
        var trailing = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Trailing }, 10);
        Assert.Equal([999f, 899f, 799f, 699f, 599f, 499f, 399f, 299f, 199f, 99f], trailing.Timesteps);
        // With trailing (and linspace) spacing init_noise_sigma is the largest sigma itself.
        Assert.Equal(trailing.Sigmas[0], trailing.InitNoiseSigma);

        var linspace = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Linspace }, 4);
        Assert.Equal([999f, 666f, 333f, 0f], linspace.Timesteps);

        // Non-integer timesteps interpolate the training sigmas linearly.
        var three = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Linspace }, 7);
        Assert.Equal(832.5f, three.Timesteps[1]);
        var train = ReferenceSchedule.Sdxl;
        var expected = (train.Sigma(832) + train.Sigma(833)) / 2;
        Assert.Equal(expected, three.Sigmas[1], 1e-5 * expected);
    }

    [Fact]
    public void TrailingStepCountsThatNumpyRoundsUpAreRefused()
    {
        // np.arange(1000, 0, -1000 / 61) has 62 values, so diffusers would run 62 steps.
        var config = SchedulerConfig.SdxlBase with { TimestepSpacing = TimestepSpacing.Trailing };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EulerDiscreteScheduler(config, 61));
        Assert.Contains("steps 61 with timestep_spacing trailing gives 62 timesteps", error.Message);
        Assert.Equal(60, new EulerDiscreteScheduler(config, 60).Timesteps.Count);
    }

    [Fact]
    public void RejectsStepIndexOutsideTheSchedule()
    {
        var scheduler = new EulerDiscreteScheduler(SchedulerConfig.SdxlBase, 5);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Step(new float[1], 5, new float[1], new TorchGenerator(0)));
        Assert.Contains("stepIndex must be in [0, 4] (got 5)", error.Message);
        var lengths = Assert.Throws<ArgumentException>(() => scheduler.ScaleModelInput(new float[2], 0, new float[1]));
        Assert.Contains("destination must have as many values as the sample (2) (got 1)", lengths.Message);
    }

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    internal static void AssertRelative(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var allowed = RelativeTolerance * Math.Max(Math.Abs(expected[i]), 1e-30);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed,
                $"index {i}: expected {expected[i]:R}, got {actual[i]:R} (relative error {Math.Abs(expected[i] - actual[i]) / Math.Abs(expected[i]):E2})");
        }
    }
}
