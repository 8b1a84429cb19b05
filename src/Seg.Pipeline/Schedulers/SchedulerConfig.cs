using System.Text.Json;

namespace Seg.Pipeline.Schedulers;

/// <summary>How the training betas are spaced (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary><c>linear</c>: betas evenly spaced from beta_start to beta_end.</summary>
    Linear,

    /// <summary><c>scaled_linear</c>: square roots evenly spaced, then squared (Stable Diffusion, SDXL).</summary>
    ScaledLinear,
}

/// <summary>What the model predicts (diffusers' <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary><c>epsilon</c>: the added noise.</summary>
    Epsilon,

    /// <summary><c>v_prediction</c>: the velocity alpha * noise - sigma * sample.</summary>
    VPrediction,
}

/// <summary>How inference timesteps are picked from the training steps (diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary><c>leading</c>: multiples of train_steps / steps, plus steps_offset.</summary>
    Leading,

    /// <summary><c>trailing</c>: counted down from the last training step.</summary>
    Trailing,

    /// <summary><c>linspace</c>: evenly spaced over [0, train_steps - 1].</summary>
    Linspace,
}

/// <summary>
/// The scheduler settings of a diffusers <c>scheduler/scheduler_config.json</c>. Keys that are absent take
/// diffusers' defaults; keys this project does not use (<c>_class_name</c>, <c>skip_prk_steps</c>, DPM-Solver's
/// solver settings, ...) are ignored, because the scheduler name picks the algorithm.
/// </summary>
public sealed record SchedulerConfig
{
    private static readonly string[] BetaScheduleNames = ["linear", "scaled_linear"];
    private static readonly string[] PredictionTypeNames = ["epsilon", "v_prediction"];
    private static readonly string[] TimestepSpacingNames = ["leading", "trailing", "linspace"];

    /// <summary><c>num_train_timesteps</c> (default 1000).</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>beta_start</c> (default 0.0001).</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary><c>beta_end</c> (default 0.02).</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary><c>beta_schedule</c> (default linear).</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary><c>trained_betas</c>: explicit betas that replace the schedule, or null.</summary>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary><c>prediction_type</c> (default epsilon).</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>
    /// <c>timestep_spacing</c>, or null when the file does not set it: each scheduler then uses its own diffusers
    /// default (linspace for the Euler and DPM-Solver schedulers, leading for DDIM).
    /// </summary>
    public TimestepSpacing? TimestepSpacing { get; init; }

    /// <summary><c>steps_offset</c> (default 0), added to leading timesteps.</summary>
    public int StepsOffset { get; init; }

    /// <summary><c>interpolation_type</c> of the Euler scheduler; only <c>linear</c> is supported.</summary>
    public string InterpolationType { get; init; } = "linear";

    /// <summary><c>use_karras_sigmas</c> (default false), used by the Euler scheduler.</summary>
    public bool UseKarrasSigmas { get; init; }

    /// <summary><c>clip_sample</c> of DDIM, or null for DDIM's default (true).</summary>
    public bool? ClipSample { get; init; }

    /// <summary><c>clip_sample_range</c> of DDIM (default 1.0).</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary><c>set_alpha_to_one</c> of DDIM, or null for DDIM's default (true).</summary>
    public bool? SetAlphaToOne { get; init; }

    /// <summary>The scheduler_config.json of stabilityai/stable-diffusion-xl-base-1.0.</summary>
    public static SchedulerConfig SdxlBase { get; } = new()
    {
        NumTrainTimesteps = 1000,
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        BetaSchedule = BetaSchedule.ScaledLinear,
        PredictionType = PredictionType.Epsilon,
        TimestepSpacing = Schedulers.TimestepSpacing.Leading,
        StepsOffset = 1,
        InterpolationType = "linear",
        UseKarrasSigmas = false,
        ClipSample = false,
        SetAlphaToOne = false,
    };

    /// <summary>Reads a diffusers scheduler_config.json.</summary>
    /// <param name="path">Path of the file.</param>
    /// <exception cref="FormatException">The file is not valid JSON or a value is unsupported.</exception>
    public static SchedulerConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Parses the text of a diffusers scheduler_config.json.</summary>
    /// <param name="json">The JSON object.</param>
    /// <exception cref="FormatException">The text is not a JSON object or a value is unsupported.</exception>
    public static SchedulerConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"scheduler config is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"scheduler config must be a JSON object (got {root.ValueKind})");
            }

            RejectUnsupportedFlag(root, "rescale_betas_zero_snr");
            RejectUnsupportedFlag(root, "thresholding");
            RejectPresent(root, "sigma_min");
            RejectPresent(root, "sigma_max");
            Choice(root, "timestep_type", ["discrete"], null);
            var config = new SchedulerConfig
            {
                NumTrainTimesteps = Integer(root, "num_train_timesteps", 1000, minimum: 2),
                BetaStart = Number(root, "beta_start", 0.0001),
                BetaEnd = Number(root, "beta_end", 0.02),
                BetaSchedule = Choice(root, "beta_schedule", BetaScheduleNames, "linear") == "linear"
                    ? BetaSchedule.Linear
                    : BetaSchedule.ScaledLinear,
                TrainedBetas = NumberArray(root, "trained_betas"),
                PredictionType = Choice(root, "prediction_type", PredictionTypeNames, "epsilon") == "epsilon"
                    ? PredictionType.Epsilon
                    : PredictionType.VPrediction,
                TimestepSpacing = Choice(root, "timestep_spacing", TimestepSpacingNames, null) switch
                {
                    "leading" => Schedulers.TimestepSpacing.Leading,
                    "trailing" => Schedulers.TimestepSpacing.Trailing,
                    "linspace" => Schedulers.TimestepSpacing.Linspace,
                    _ => null,
                },
                StepsOffset = Integer(root, "steps_offset", 0, minimum: 0),
                InterpolationType = Choice(root, "interpolation_type", ["linear"], "linear")!,
                UseKarrasSigmas = Flag(root, "use_karras_sigmas") ?? false,
                ClipSample = Flag(root, "clip_sample"),
                ClipSampleRange = Number(root, "clip_sample_range", 1.0),
                SetAlphaToOne = Flag(root, "set_alpha_to_one"),
            };
            try
            {
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message, e);
            }
            return config;
        }
    }

    /// <summary>Checks the values that a hand-built config could get wrong.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the field.</exception>
    internal void Validate()
    {
        if (NumTrainTimesteps < 2)
        {
            throw new ArgumentException($"num_train_timesteps must be >= 2 (got {NumTrainTimesteps})");
        }
        if (TrainedBetas is { } betas)
        {
            if (betas.Count != NumTrainTimesteps)
            {
                throw new ArgumentException(
                    $"trained_betas must have num_train_timesteps ({NumTrainTimesteps}) values (got {betas.Count})");
            }
            if (betas.Any(b => !(b > 0 && b < 1)))
            {
                throw new ArgumentException("trained_betas must all be in (0, 1)");
            }
        }
        else
        {
            if (!(BetaStart > 0 && BetaStart < 1))
            {
                throw new ArgumentException($"beta_start must be in (0, 1) (got {BetaStart})");
            }
            if (!(BetaEnd > 0 && BetaEnd < 1))
            {
                throw new ArgumentException($"beta_end must be in (0, 1) (got {BetaEnd})");
            }
        }
        if (StepsOffset < 0)
        {
            throw new ArgumentException($"steps_offset must be >= 0 (got {StepsOffset})");
        }
        if (InterpolationType != "linear")
        {
            throw new ArgumentException($"interpolation_type must be one of linear (got '{InterpolationType}')");
        }
        if (!(ClipSampleRange > 0))
        {
            throw new ArgumentException($"clip_sample_range must be > 0 (got {ClipSampleRange})");
        }
    }

    private static bool TryGet(JsonElement root, string name, out JsonElement value)
    {
        return root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private static int Integer(JsonElement root, string name, int fallback, int minimum)
    {
        if (!TryGet(root, name, out var value))
        {
            return fallback;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var result))
        {
            throw new FormatException($"{name} must be an integer (got {value.GetRawText()})");
        }
        if (result < minimum)
        {
            throw new FormatException($"{name} must be >= {minimum} (got {result})");
        }
        return result;
    }

    private static double Number(JsonElement root, string name, double fallback)
    {
        if (!TryGet(root, name, out var value))
        {
            return fallback;
        }
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new FormatException($"{name} must be a number (got {value.GetRawText()})");
        }
        return value.GetDouble();
    }

    private static bool? Flag(JsonElement root, string name)
    {
        if (!TryGet(root, name, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new FormatException($"{name} must be true or false (got {value.GetRawText()})"),
        };
    }

    private static string? Choice(JsonElement root, string name, string[] allowed, string? fallback)
    {
        if (!TryGet(root, name, out var value))
        {
            return fallback;
        }
        var text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (text is null || !allowed.Contains(text))
        {
            throw new FormatException($"{name} must be one of {string.Join(", ", allowed)} (got {value.GetRawText()})");
        }
        return text;
    }

    private static double[]? NumberArray(JsonElement root, string name)
    {
        if (!TryGet(root, name, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number))
        {
            throw new FormatException($"{name} must be null or an array of numbers");
        }
        return value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    private static void RejectPresent(JsonElement root, string name)
    {
        if (TryGet(root, name, out var value))
        {
            throw new FormatException($"{name} must be null: custom sigma bounds are not supported (got {value.GetRawText()})");
        }
    }

    private static void RejectUnsupportedFlag(JsonElement root, string name)
    {
        if (Flag(root, name) == true)
        {
            throw new FormatException($"{name} must be false: it is not supported (got true)");
        }
    }
}
