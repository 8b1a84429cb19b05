using System.Globalization;
using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// The rules on a <see cref="SweepDefinition"/>, used by the API and the command line: every value by its
/// parameter's rule (<see cref="ParameterDefinitions"/>), plus what only a sweep has (its name, the number and length
/// of its prompts, seed ranges, no value twice in a list, the task count). Every error names its field (with the
/// index in a list) and the rule; all errors are reported at once. Layer indices are checked for syntax only: their
/// range depends on the model, which the worker checks. One task's parameters are checked by
/// <see cref="RenderParameters.Validate"/>, the same rules.
/// </summary>
public static class SweepValidator
{
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
        CheckTags(errors, definition.Tags, limits);
        errors.Check(ParameterNames.Model,
            ParameterDefinitions.Model.Check(definition.Model) ?? ModelNames.Check(definition.Model, limits.AllowAbsoluteModelPaths));
        errors.Check(ParameterNames.Vae, ParameterDefinitions.Vae.Check(definition.Vae) ?? ModelNames.Check(definition.Vae, limits.AllowAbsoluteModelPaths));
        errors.CheckList(ParameterNames.Prompts, definition.Prompts,
            prompt => MaxLengthRule(prompt, limits.MaxPromptLength) ?? ParameterDefinitions.Prompt.Check(prompt), "must contain at least one prompt");
        if (definition.Prompts.Count > limits.MaxPrompts)
        {
            errors.Check(ParameterNames.Prompts, $"must contain at most {limits.MaxPrompts} prompts (got {definition.Prompts.Count})");
        }
        errors.Check(ParameterNames.NegativePrompt,
            MaxLengthRule(definition.NegativePrompt, limits.MaxPromptLength) ?? ParameterDefinitions.NegativePrompt.Check(definition.NegativePrompt));
        CheckSeeds(errors, definition.Seeds);
        errors.CheckList(ParameterNames.Size, definition.Size, SizeRule);
        errors.CheckList(ParameterNames.Steps, definition.Steps, ParameterDefinitions.Steps.Check);
        errors.CheckList(ParameterNames.Scheduler, definition.Scheduler, ParameterDefinitions.Scheduler.Check);
        errors.CheckList(ParameterNames.GuidanceScale, definition.GuidanceScale, ParameterDefinitions.GuidanceScale.Check);
        errors.Check(ParameterNames.GuidanceRescale, ParameterDefinitions.GuidanceRescale.Check(definition.GuidanceRescale));
        errors.CheckList(ParameterNames.SegLayers, definition.SegLayers, ParameterDefinitions.SegLayers.Check);
        errors.CheckList(ParameterNames.SegBlurSigma, definition.SegBlurSigma, ParameterDefinitions.SegBlurSigma.Check);
        errors.CheckList(ParameterNames.SegScale, definition.SegScale, ParameterDefinitions.SegScale.Check);
        errors.Check(ParameterNames.SegWindow, ParameterDefinitions.CheckSegWindow(definition.SegWindow.Start, definition.SegWindow.Stop));
        CheckTaskCount(errors, definition, limits);
        return errors;
    }

    private static void CheckTags(ErrorList errors, IReadOnlyDictionary<string, string> tags, SweepLimits limits)
    {
        if (tags.Count > limits.MaxTags)
        {
            errors.Check(TagsField, $"must have at most {limits.MaxTags} tags (got {tags.Count})");
        }

        foreach (var (key, value) in tags.Take(limits.MaxTags))
        {
            if (key.Length > limits.MaxTagKeyLength)
            {
                errors.Check(TagsField, $"must have tag names of at most {limits.MaxTagKeyLength} characters (got {key.Length} in '{key[..16]}...')");
            }
            else if (key.Trim().Length == 0)
            {
                errors.Check(TagsField, "must have tag names that are not blank");
            }
            else
            {
                errors.Check($"{TagsField}.{key}", MaxLengthRule(value, limits.MaxTagValueLength));
            }
        }
    }

    private const string TagsField = "tags";

    private static void CheckSeeds(ErrorList errors, SeedSet seeds)
    {
        const string EmptyRule = "must contain at least one seed: a list [1, 2, 3] or a range {start: 100, count: 1000}";
        if (!seeds.IsRange)
        {
            errors.CheckList(ParameterNames.Seeds, seeds.Values, ParameterDefinitions.Seed.Check, EmptyRule);
            return;
        }
        errors.Check($"{ParameterNames.Seeds}.start", ParameterDefinitions.Seed.Check(seeds.Start));
        if (seeds.Count <= 0)
        {
            errors.Check($"{ParameterNames.Seeds}.count", $"must be > 0 (got {seeds.Count})");
        }
        else if (seeds.Start >= 0 && seeds.Count - 1 > long.MaxValue - seeds.Start)
        {
            errors.Check($"{ParameterNames.Seeds}.count",
                $"must keep the last seed, start + count - 1, at most 2^63-1 (got start {seeds.Start}, count {seeds.Count})");
        }
    }

    private static void CheckTaskCount(ErrorList errors, SweepDefinition definition, SweepLimits limits)
    {
        var axes = SweepAxes.Of(definition);
        if (axes.Any(axis => axis.Count <= 0))
        {
            return; // the empty list is reported already
        }
        var count = SweepExpander.CountTasks(definition);
        if (count > limits.MaxTasksPerSweep)
        {
            var product = string.Join(" x ", axes.Where(axis => axis.IsVaried).Select(axis => $"{Thousands(axis.Count)} {axis.Name}"));
            var total = count == long.MaxValue ? "more than 2^63-1" : Thousands(count);
            errors.Check(ValidationError.Sweep, $"must expand to at most {Thousands(limits.MaxTasksPerSweep)} tasks (got {total} = {product})");
        }
    }

    private static string? MaxLengthRule(string text, int maxLength) =>
        text.Length <= maxLength ? null : $"must be at most {maxLength} characters (got {text.Length})";

    private static string? SizeRule(string text) =>
        ImageSize.TryParse(text, out var size) ? size.Check() : $"{ImageSize.FormRule} (got '{text}')";

    /// <summary>A value as a person writes it in an error: quoted text, else the parameter's form.</summary>
    private static string Show<T>(T value) => value switch
    {
        double sigma when double.IsPositiveInfinity(sigma) => SegBlurSigma.InfinityText,
        string text => $"'{text}'",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Thousands(long count) => count.ToString("N0", CultureInfo.InvariantCulture);

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
