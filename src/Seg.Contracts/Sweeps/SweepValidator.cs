using System.Globalization;
using System.Text.RegularExpressions;
using Seg.Contracts.Messages;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// The one set of rules on sweep values, used by the API and the command line on a <see cref="SweepDefinition"/>
/// and by the worker on the <see cref="RenderParameters"/> of a task. Every error names its field (with the index
/// in a list) and the rule; all errors are reported at once. Layer indices are checked for syntax only: their
/// range depends on the model, which the worker checks.
/// </summary>
public static partial class SweepValidator
{
    /// <summary>The rule for a seed, shared with the parser's message for a number that is not one.</summary>
    internal const string SeedRule = "must be a whole number between 0 and 9223372036854775807 (2^63-1)";

    /// <summary>Checks a sweep against every rule, the task count against <paramref name="limits"/> included.</summary>
    /// <param name="definition">The sweep.</param>
    /// <param name="limits">The limits; <see cref="SweepLimits.Default"/> when null.</param>
    /// <returns>Every broken rule; empty when the sweep is valid.</returns>
    public static IReadOnlyList<ValidationError> Validate(SweepDefinition definition, SweepLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        limits ??= SweepLimits.Default;
        var errors = new ErrorList();
        errors.Check("name", MaxLengthRule(definition.Name, limits.MaxNameLength));
        errors.Check("model", ModelRule(definition.Model));
        errors.Check("vae", VaeRule(definition.Vae));
        errors.CheckList("prompts", definition.Prompts, prompt => MaxLengthRule(prompt, limits.MaxPromptLength), "must contain at least one prompt");
        if (definition.Prompts.Count > limits.MaxPrompts)
        {
            errors.Check("prompts", $"must contain at most {limits.MaxPrompts} prompts (got {definition.Prompts.Count})");
        }
        errors.Check("negative_prompt", MaxLengthRule(definition.NegativePrompt, limits.MaxPromptLength));
        CheckSeeds(errors, definition.Seeds);
        errors.CheckList("size", definition.Size, size => SizeTextRule(size, limits));
        errors.CheckList("steps", definition.Steps, steps => StepsRule(steps, limits));
        errors.CheckList("scheduler", definition.Scheduler, SchedulerRule);
        errors.CheckList("guidance_scale", definition.GuidanceScale, NonNegativeRule);
        errors.Check("guidance_rescale", GuidanceRescaleRule(definition.GuidanceRescale));
        errors.CheckList("seg_layers", definition.SegLayers, SegLayersRule);
        errors.CheckList("seg_blur_sigma", definition.SegBlurSigma, SegBlurSigmaRule);
        errors.CheckList("seg_scale", definition.SegScale, NonNegativeRule);
        errors.Check("seg_window", SegWindowRule(definition.SegWindow.Start, definition.SegWindow.Stop));
        CheckTaskCount(errors, definition, limits);
        return errors;
    }

    /// <summary>Checks the parameters of one task (what a worker receives) against the same rules.</summary>
    /// <param name="parameters">The resolved parameters of one image.</param>
    /// <param name="limits">The limits; <see cref="SweepLimits.Default"/> when null.</param>
    /// <returns>Every broken rule; empty when the parameters are valid.</returns>
    public static IReadOnlyList<ValidationError> Validate(RenderParameters parameters, SweepLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        limits ??= SweepLimits.Default;
        var errors = new ErrorList();
        errors.Check("model", ModelRule(parameters.Model));
        errors.Check("vae", VaeRule(parameters.Vae));
        errors.Check("prompt", MaxLengthRule(parameters.Prompt, limits.MaxPromptLength));
        errors.Check("negative_prompt", MaxLengthRule(parameters.NegativePrompt, limits.MaxPromptLength));
        errors.Check("seed", SeedValueRule(parameters.Seed));
        errors.Check("size", SizeRule(new ImageSize(parameters.Width, parameters.Height), limits));
        errors.Check("steps", StepsRule(parameters.Steps, limits));
        errors.Check("scheduler", SchedulerRule(parameters.Scheduler));
        errors.Check("guidance_scale", NonNegativeRule(parameters.GuidanceScale));
        errors.Check("guidance_rescale", GuidanceRescaleRule(parameters.GuidanceRescale));
        errors.Check("seg_layers", SegLayersRule(parameters.SegLayers));
        errors.Check("seg_blur_sigma", SegBlurSigmaRule(parameters.SegBlurSigma));
        errors.Check("seg_scale", NonNegativeRule(parameters.SegScale));
        errors.Check("seg_window", SegWindowRule(parameters.SegWindowStart, parameters.SegWindowStop));
        return errors;
    }

    private static void CheckSeeds(ErrorList errors, SeedSet seeds)
    {
        const string EmptyRule = "must contain at least one seed: a list [1, 2, 3] or a range {start: 100, count: 1000}";
        if (!seeds.IsRange)
        {
            errors.CheckList("seeds", seeds.Values, SeedValueRule, EmptyRule);
            return;
        }
        errors.Check("seeds.start", SeedValueRule(seeds.Start));
        if (seeds.Count <= 0)
        {
            errors.Check("seeds.count", $"must be > 0 (got {seeds.Count})");
        }
        else if (seeds.Start >= 0 && seeds.Count - 1 > long.MaxValue - seeds.Start)
        {
            errors.Check("seeds.count", $"must keep the last seed, start + count - 1, at most 2^63-1 (got start {seeds.Start}, count {seeds.Count})");
        }
    }

    private static void CheckTaskCount(ErrorList errors, SweepDefinition definition, SweepLimits limits)
    {
        var axes = SweepExpander.Axes(definition);
        if (axes.Any(axis => axis.Length <= 0))
        {
            return; // the empty list is reported already
        }
        var count = SweepExpander.CountTasks(definition);
        if (count > limits.MaxTasksPerSweep)
        {
            var product = string.Join(" x ", axes.Where(axis => axis.Length > 1).Select(axis => $"{Thousands(axis.Length)} {axis.Name}"));
            var total = count == long.MaxValue ? "more than 2^63-1" : Thousands(count);
            errors.Check(ValidationError.Sweep, $"must expand to at most {Thousands(limits.MaxTasksPerSweep)} tasks (got {total} = {product})");
        }
    }

    private static string? MaxLengthRule(string text, int maxLength) =>
        text.Length <= maxLength ? null : $"must be at most {maxLength} characters (got {text.Length})";

    private static string? ModelRule(string model) =>
        string.IsNullOrWhiteSpace(model) ? "is required: a model folder or a model name that the workers know" : null;

    private static string? VaeRule(string? vae) =>
        vae is not null && string.IsNullOrWhiteSpace(vae) ? "must not be empty; leave it out to decode with the model's own VAE" : null;

    private static string? SeedValueRule(long seed) => seed >= 0 ? null : $"{SeedRule} (got {seed})";

    private static string? SizeTextRule(string text, SweepLimits limits) =>
        ImageSize.TryParse(text, out var size) ? SizeRule(size, limits) : $"must be WIDTHxHEIGHT such as 1024x1024 (got '{text}')";

    private static string? SizeRule(ImageSize size, SweepLimits limits) =>
        IsSide(size.Width, limits) && IsSide(size.Height, limits)
            ? null
            : $"width and height must be multiples of 8 between {limits.MinSize} and {limits.MaxSize} (got {size})";

    private static bool IsSide(int pixels, SweepLimits limits) => pixels % 8 == 0 && pixels >= limits.MinSize && pixels <= limits.MaxSize;

    private static string? StepsRule(int steps, SweepLimits limits) =>
        steps >= 1 && steps <= limits.MaxSteps ? null : $"must be between 1 and {limits.MaxSteps} (got {steps})";

    private static string? SchedulerRule(string scheduler) =>
        SchedulerNames.All.Contains(scheduler) ? null : $"must be one of {string.Join(", ", SchedulerNames.All)} (got '{scheduler}')";

    private static string? NonNegativeRule(double value) =>
        double.IsFinite(value) && value >= 0 ? null : $"must be >= 0 (got {Show(value)})";

    private static string? GuidanceRescaleRule(double value) =>
        value is >= 0 and <= 1 ? null : $"must be between 0 and 1 (got {Show(value)})";

    private static string? SegBlurSigmaRule(double sigma) =>
        sigma > 0 ? null : $"must be > 0 or \"inf\" (got {Show(sigma)})";

    private static string? SegWindowRule(double start, double stop) =>
        start >= 0 && start < stop && stop <= 1 ? null : $"must be [start, stop] with 0 <= start < stop <= 1 (got [{Show(start)}, {Show(stop)}])";

    private static string? SegLayersRule(string layers)
    {
        var parts = layers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return "must name at least one layer group or index, such as mid or d0,m0";
        }
        var unknown = parts.FirstOrDefault(part => part is not ("down" or "mid" or "up") && !LayerIndex().IsMatch(part));
        return unknown is null ? null : $"unknown group '{unknown}'; use down, mid, up or d<i>, m<i>, u<i>";
    }

    /// <summary>A value as a person writes it: invariant numbers, <c>inf</c>, quoted text.</summary>
    private static string Show<T>(T value) => value switch
    {
        double number when double.IsPositiveInfinity(number) => "inf",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        string text => $"'{text}'",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Thousands(long count) => count.ToString("N0", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[dmu][0-9]{1,4}$")]
    private static partial Regex LayerIndex();

    /// <summary>Collects errors; a rule returns null when the value keeps it.</summary>
    private sealed class ErrorList : List<ValidationError>
    {
        public void Check(string field, string? rule)
        {
            if (rule is not null)
            {
                Add(new ValidationError(field, rule));
            }
        }

        /// <summary>Checks a swept list: not empty, every item by <paramref name="rule"/>, no item twice.</summary>
        public void CheckList<T>(string field, IReadOnlyList<T> values, Func<T, string?> rule, string emptyRule = "must contain at least one value")
            where T : notnull
        {
            if (values.Count == 0)
            {
                Check(field, emptyRule);
                return;
            }
            var firstIndex = new Dictionary<T, int>();
            for (var i = 0; i < values.Count; i++)
            {
                var broken = rule(values[i]);
                if (broken is null && !firstIndex.TryAdd(values[i], i))
                {
                    broken = $"must differ from {field}[{firstIndex[values[i]]}] (both are {Show(values[i])})";
                }
                Check($"{field}[{i}]", broken);
            }
        }
    }
}
