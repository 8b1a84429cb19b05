using Seg.Pipeline.Schedulers;

namespace Seg.Pipeline.Tests.Schedulers;

public class SchedulerConfigTests
{
    // stabilityai/stable-diffusion-xl-base-1.0, scheduler/scheduler_config.json.
    private const string SdxlBaseJson = """
        {
          "_class_name": "EulerDiscreteScheduler",
          "_diffusers_version": "0.19.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "leading",
          "trained_betas": null,
          "use_karras_sigmas": false
        }
        """;

    [Fact]
    public void ParsesSdxlBaseConfig()
    {
        Assert.Equal(SchedulerConfig.SdxlBase, SchedulerConfig.Parse(SdxlBaseJson));
    }

    [Fact]
    public void AbsentKeysTakeDiffusersDefaults()
    {
        var config = SchedulerConfig.Parse("{}");

        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.0001, config.BetaStart);
        Assert.Equal(0.02, config.BetaEnd);
        Assert.Equal(BetaSchedule.Linear, config.BetaSchedule);
        Assert.Equal(PredictionType.Epsilon, config.PredictionType);
        Assert.Null(config.TimestepSpacing);
        Assert.Equal(0, config.StepsOffset);
        Assert.False(config.UseKarrasSigmas);
        Assert.Null(config.ClipSample);
        Assert.Null(config.SetAlphaToOne);
        Assert.Null(config.TrainedBetas);
    }

    [Fact]
    public void SpacingDefaultsDifferPerScheduler()
    {
        // diffusers: Euler and DPM-Solver default to linspace, DDIM to leading.
        var config = SchedulerConfig.Parse("""{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}""");

        Assert.Equal(999f, new EulerDiscreteScheduler(config, 10).Timesteps[0]);
        Assert.Equal(900f, new DdimScheduler(config, 10).Timesteps[0]);
        Assert.Equal(999f, new DpmSolverMultistepScheduler(config, 10).Timesteps[0]);
    }

    [Theory]
    [InlineData("""{"beta_schedule": "squaredcos_cap_v2"}""", "beta_schedule must be one of linear, scaled_linear (got \"squaredcos_cap_v2\")")]
    [InlineData("""{"prediction_type": "sample"}""", "prediction_type must be one of epsilon, v_prediction (got \"sample\")")]
    [InlineData("""{"timestep_spacing": "even"}""", "timestep_spacing must be one of leading, trailing, linspace (got \"even\")")]
    [InlineData("""{"interpolation_type": "log_linear"}""", "interpolation_type must be one of linear (got \"log_linear\")")]
    [InlineData("""{"num_train_timesteps": "1000"}""", "num_train_timesteps must be an integer (got \"1000\")")]
    [InlineData("""{"num_train_timesteps": 1}""", "num_train_timesteps must be >= 2 (got 1)")]
    [InlineData("""{"steps_offset": -1}""", "steps_offset must be >= 0 (got -1)")]
    [InlineData("""{"beta_start": "small"}""", "beta_start must be a number (got \"small\")")]
    [InlineData("""{"beta_end": 1.5}""", "beta_end must be in (0, 1) (got 1.5)")]
    [InlineData("""{"use_karras_sigmas": "yes"}""", "use_karras_sigmas must be true or false (got \"yes\")")]
    [InlineData("""{"trained_betas": [0.1, 0.2]}""", "trained_betas must have num_train_timesteps (1000) values (got 2)")]
    [InlineData("""{"trained_betas": "none"}""", "trained_betas must be null or an array of numbers")]
    [InlineData("""{"rescale_betas_zero_snr": true}""", "rescale_betas_zero_snr must be false")]
    [InlineData("""{"thresholding": true}""", "thresholding must be false")]
    [InlineData("""{"sigma_min": 0.03}""", "sigma_min must be null")]
    [InlineData("""{"timestep_type": "continuous"}""", "timestep_type must be one of discrete (got \"continuous\")")]
    [InlineData("""[1, 2]""", "scheduler config must be a JSON object")]
    [InlineData("""{"beta_start": """, "scheduler config is not valid JSON")]
    public void RejectsUnsupportedValuesNamingTheField(string json, string message)
    {
        var error = Assert.Throws<FormatException>(() => SchedulerConfig.Parse(json));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public void TrainedBetasReplaceTheSchedule()
    {
        // linear betas written out: beta_t = 0.0001 + (0.02 - 0.0001) t / 999
        var betas = Enumerable.Range(0, 1000).Select(t => 0.0001 + (0.02 - 0.0001) * t / 999).ToArray();
        var json = $$"""{"trained_betas": [{{string.Join(", ", betas.Select(b => b.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}""";

        var trained = new EulerDiscreteScheduler(SchedulerConfig.Parse(json), 10);
        var linear = new EulerDiscreteScheduler(SchedulerConfig.Parse("{}"), 10);

        Assert.Equal(1000, SchedulerConfig.Parse(json).TrainedBetas!.Count);
        for (var i = 0; i < trained.Sigmas.Count; i++)
        {
            Assert.Equal(linear.Sigmas[i], trained.Sigmas[i], 1e-5 * Math.Max(1, linear.Sigmas[i]));
        }
    }

    [Fact]
    public void LoadNamesTheFileInErrors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"scheduler_config_{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, SdxlBaseJson);
            Assert.Equal(SchedulerConfig.SdxlBase, SchedulerConfig.Load(path));

            File.WriteAllText(path, """{"prediction_type": "flow"}""");
            var error = Assert.Throws<FormatException>(() => SchedulerConfig.Load(path));
            Assert.Equal($"{path}: prediction_type must be one of epsilon, v_prediction (got \"flow\")", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HandBuiltConfigsAreCheckedWhenUsed()
    {
        var config = SchedulerConfig.SdxlBase with { BetaStart = -1 };
        var error = Assert.Throws<ArgumentException>(() => new EulerDiscreteScheduler(config, 10));
        Assert.StartsWith("beta_start must be in (0, 1) (got -1)", error.Message);
    }
}
