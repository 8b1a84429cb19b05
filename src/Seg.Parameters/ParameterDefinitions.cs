using System.Text.RegularExpressions;

namespace Seg.Parameters;

/// <summary>
/// Every render parameter, each defined once. The sweep fields (<c>Seg.Contracts.Sweeps.SweepDefinition</c>), the
/// message (<see cref="RenderParameters"/>), the pipeline's request and provenance, the <c>images</c> columns and
/// <c>seg render</c>'s options take their names, defaults, limits, rules and labels from here.
/// <para>
/// To enumerate them, use <see cref="All"/> (the order of the message, the columns and the A1111 text); to find one
/// by name, <see cref="Find"/>; to check a whole set, <see cref="RenderParameters.Validate"/>.
/// </para>
/// </summary>
public static partial class ParameterDefinitions
{
    /// <summary>Image sides are multiples of this (the VAE's downsampling factor).</summary>
    public const int SideMultiple = 8;

    /// <summary>Smallest accepted width or height in pixels.</summary>
    public const int MinSide = 64;

    /// <summary>Largest accepted width or height in pixels.</summary>
    public const int MaxSide = 4096;

    /// <summary>Most denoising steps (the scheduler's training steps).</summary>
    public const int MaxSteps = 1000;

    /// <summary>The default width and height: SDXL's native size.</summary>
    public const int DefaultSide = 1024;

    /// <summary>The SEG layer groups, in the UNet's order; the default selection is the official pipeline's, <c>mid</c>.</summary>
    public static IReadOnlyList<string> LayerGroups { get; } = ["down", "mid", "up"];

    /// <summary>The SEG layer selection of every group.</summary>
    public const string AllLayers = "all";

    /// <summary>The SEG window's field in a sweep and in errors, and the rule that its start and stop keep together.</summary>
    public const string SegWindowRule = "must be [start, stop] with 0 <= start < stop <= 1";

    private static readonly string SideRule = $"must be a multiple of {SideMultiple} between {MinSide} and {MaxSide}";

    private static bool SegOn(RenderParameters p) => p.SegScale > 0;

    /// <summary>The model: a folder path or a model name that the workers resolve. Required.</summary>
    public static ParameterDefinition<string> Model { get; } = new(
        ParameterNames.Model, nameof(RenderParameters.Model),
        "The model: a folder in the Optimum/diffusers ONNX layout, or a model name that the workers resolve.",
        "", ValueForms.Text, "is required: a model folder or a model name that the workers know",
        model => !string.IsNullOrWhiteSpace(model) && ModelNames.Check(model, allowAbsolute: true) is null,
        p => p.Model, (p, v) => p with { Model = v }, new(ParameterNames.Model, null), new("Model"),
        model => string.IsNullOrWhiteSpace(model) ? Model!.Rule : ModelNames.Check(model, allowAbsolute: true));

    /// <summary>A separate (fp32) VAE folder; null decodes with the model's own VAE.</summary>
    public static ParameterDefinition<string?> Vae { get; } = new(
        ParameterNames.Vae, nameof(RenderParameters.Vae),
        "A separate (fp32) VAE decoder folder; fp16 SDXL VAEs overflow. Default: the model's own.",
        null, ValueForms.OptionalText, "must not be empty; leave it out to decode with the model's own VAE",
        vae => vae is null || (!string.IsNullOrWhiteSpace(vae) && ModelNames.Check(vae, allowAbsolute: true) is null),
        p => p.Vae, (p, v) => p with { Vae = v }, new(ParameterNames.Vae, null),
        new("VAE", ShownWhen: p => p.Vae is not null),
        vae => vae is not null && string.IsNullOrWhiteSpace(vae) ? Vae!.Rule : ModelNames.Check(vae, allowAbsolute: true));

    /// <summary>The prompt; empty is allowed (unconditional SEG).</summary>
    public static ParameterDefinition<string> Prompt { get; } = new(
        ParameterNames.Prompt, nameof(RenderParameters.Prompt),
        "The prompt; empty renders unconditional SEG.",
        "", ValueForms.Text, "may be any text", _ => true,
        p => p.Prompt, (p, v) => p with { Prompt = v }, new(ParameterNames.Prompts, 0), null);

    /// <summary>The negative prompt; empty means zero embeddings with CFG (SDXL's rule).</summary>
    public static ParameterDefinition<string> NegativePrompt { get; } = new(
        ParameterNames.NegativePrompt, nameof(RenderParameters.NegativePrompt),
        "The negative prompt; empty gives zero embeddings with CFG.",
        "", ValueForms.Text, "may be any text", _ => true,
        p => p.NegativePrompt, (p, v) => p with { NegativePrompt = v }, new(ParameterNames.NegativePrompt, null), new("Negative prompt"));

    /// <summary>The seed of the initial noise (torch's CPU generator).</summary>
    public static ParameterDefinition<long> Seed { get; } = new(
        ParameterNames.Seed, nameof(RenderParameters.Seed),
        "The noise seed (torch CPU generator).",
        0, ValueForms.Int64, SeedRule,
        seed => seed >= 0,
        p => p.Seed, (p, v) => p with { Seed = v }, new(ParameterNames.Seeds, 1), new("Seed"));

    /// <summary>The rule of a seed (also what a seed that is no whole number breaks).</summary>
    public const string SeedRule = "must be a whole number between 0 and 9223372036854775807 (2^63-1)";

    /// <summary>Image width in pixels.</summary>
    public static ParameterDefinition<int> Width { get; } = Side(ParameterNames.Width, nameof(RenderParameters.Width), "Width in pixels",
        p => p.Width, (p, v) => p with { Width = v });

    /// <summary>Image height in pixels.</summary>
    public static ParameterDefinition<int> Height { get; } = Side(ParameterNames.Height, nameof(RenderParameters.Height), "Height in pixels",
        p => p.Height, (p, v) => p with { Height = v });

    /// <summary>Denoising steps.</summary>
    public static ParameterDefinition<int> Steps { get; } = new(
        ParameterNames.Steps, nameof(RenderParameters.Steps),
        "Denoising steps.",
        30, ValueForms.Integer, $"must be between 1 and {MaxSteps}",
        steps => steps is >= 1 and <= MaxSteps,
        p => p.Steps, (p, v) => p with { Steps = v }, new(ParameterNames.Steps, 3), new("Steps"));

    /// <summary>The scheduler (<see cref="SchedulerNames.All"/>).</summary>
    public static ParameterDefinition<string> Scheduler { get; } = new(
        ParameterNames.Scheduler, nameof(RenderParameters.Scheduler),
        $"The scheduler: {string.Join(", ", SchedulerNames.All)}.",
        SchedulerNames.Euler, ValueForms.Text, $"must be one of {string.Join(", ", SchedulerNames.All)}",
        SchedulerNames.All.Contains,
        p => p.Scheduler, (p, v) => p with { Scheduler = v }, new(ParameterNames.Scheduler, 4), new("Sampler"));

    /// <summary>Classifier-free guidance scale; 1 or less turns CFG off.</summary>
    public static ParameterDefinition<double> GuidanceScale { get; } = NonNegative(
        ParameterNames.GuidanceScale, nameof(RenderParameters.GuidanceScale),
        "Classifier-free guidance scale; 1 or less turns CFG off.", 5.0,
        p => p.GuidanceScale, (p, v) => p with { GuidanceScale = v }, 5, new("CFG scale"));

    /// <summary>diffusers' guidance_rescale (0 = off), applied to the CFG-guided prediction.</summary>
    public static ParameterDefinition<double> GuidanceRescale { get; } = Fraction(
        ParameterNames.GuidanceRescale, nameof(RenderParameters.GuidanceRescale),
        "diffusers' guidance_rescale, 0 .. 1 (0: off).", 0,
        p => p.GuidanceRescale, (p, v) => p with { GuidanceRescale = v }, ParameterNames.GuidanceRescale,
        new("Guidance rescale", ShownWhen: p => p.GuidanceRescale > 0));

    /// <summary>SEG guidance scale; 0 renders without SEG.</summary>
    public static ParameterDefinition<double> SegScale { get; } = NonNegative(
        ParameterNames.SegScale, nameof(RenderParameters.SegScale),
        "SEG guidance scale; 0 turns SEG off.", 3.0,
        p => p.SegScale, (p, v) => p with { SegScale = v }, 8, new("SEG scale"));

    /// <summary>
    /// SEG blur sigma of the query Gaussian: a number &gt; 0, or <see cref="double.PositiveInfinity"/> (written
    /// <c>inf</c>; anything above <see cref="SegBlurSigma.InfiniteThreshold"/>) for the infinite blur, the mean query.
    /// </summary>
    public static ParameterDefinition<double> SegBlurSigma { get; } = new(
        ParameterNames.SegBlurSigma, nameof(RenderParameters.SegBlurSigma),
        $"SEG blur sigma: a number > 0, or {Parameters.SegBlurSigma.InfinityText} for the infinite blur (the mean query).",
        double.PositiveInfinity, ValueForms.Sigma, $"must be > 0 or \"{Parameters.SegBlurSigma.InfinityText}\"",
        sigma => sigma > 0,
        p => p.SegBlurSigma, (p, v) => p with { SegBlurSigma = v }, new(ParameterNames.SegBlurSigma, 7),
        new("SEG blur sigma", ShownWhen: SegOn));

    /// <summary>SEG layers: groups (<c>down</c>, <c>mid</c>, <c>up</c>) or attn1 indices (<c>d4</c>, <c>m0</c>, <c>u12</c>), comma-separated.</summary>
    public static ParameterDefinition<string> SegLayers { get; } = new(
        ParameterNames.SegLayers, nameof(RenderParameters.SegLayers),
        "Blurred attn1 layers: groups down, mid, up or all, or indices such as d0,m0,u3, comma-separated.",
        LayerGroups[1], ValueForms.Text, "must name layer groups (down, mid, up, all) or attn1 indices (d<i>, m<i>, u<i>), comma-separated",
        layers => CheckLayers(layers) is null, p => p.SegLayers, (p, v) => p with { SegLayers = v }, new(ParameterNames.SegLayers, 6),
        new("SEG layers", ShownWhen: SegOn), CheckLayers);

    /// <summary>Fraction of the steps at which SEG starts (inclusive).</summary>
    public static ParameterDefinition<double> SegWindowStart { get; } = Fraction(
        ParameterNames.SegWindowStart, nameof(RenderParameters.SegWindowStart),
        "Fraction of the steps at which SEG starts (inclusive).", 0,
        p => p.SegWindowStart, (p, v) => p with { SegWindowStart = v }, ParameterNames.SegWindow, new("SEG window", "-", SegOn));

    /// <summary>Fraction of the steps at which SEG stops (exclusive; 1 = to the last step).</summary>
    public static ParameterDefinition<double> SegWindowStop { get; } = Fraction(
        ParameterNames.SegWindowStop, nameof(RenderParameters.SegWindowStop),
        "Fraction of the steps at which SEG stops (exclusive; 1: to the last step).", 1,
        p => p.SegWindowStop, (p, v) => p with { SegWindowStop = v }, ParameterNames.SegWindow, new("SEG window", "-", SegOn));

    /// <summary>Every parameter, in the order of the message, the database columns and the A1111 text.</summary>
    public static IReadOnlyList<ParameterDefinition> All { get; } =
    [
        Model, Vae, Prompt, NegativePrompt, Seed, Width, Height, Steps, Scheduler, GuidanceScale, GuidanceRescale,
        SegScale, SegBlurSigma, SegLayers, SegWindowStart, SegWindowStop,
    ];

    /// <summary>Every default: what a sweep's image gets for what the sweep leaves out (<see cref="Model"/> is empty).</summary>
    public static RenderParameters Defaults { get; } = new()
    {
        Model = Model.Default,
        Vae = Vae.Default,
        Prompt = Prompt.Default,
        NegativePrompt = NegativePrompt.Default,
        Seed = Seed.Default,
        Width = Width.Default,
        Height = Height.Default,
        Steps = Steps.Default,
        Scheduler = Scheduler.Default,
        GuidanceScale = GuidanceScale.Default,
        GuidanceRescale = GuidanceRescale.Default,
        SegScale = SegScale.Default,
        SegBlurSigma = SegBlurSigma.Default,
        SegLayers = SegLayers.Default,
        SegWindowStart = SegWindowStart.Default,
        SegWindowStop = SegWindowStop.Default,
    };

    /// <summary>The parameter named <paramref name="name"/> (snake_case), or null.</summary>
    public static ParameterDefinition? Find(string name) => All.FirstOrDefault(definition => definition.Name == name);

    /// <summary>The rule of the SEG window for a start and a stop, or null when they keep it.</summary>
    public static string? CheckSegWindow(double start, double stop) =>
        SegWindowStart.Check(start) is null && SegWindowStop.Check(stop) is null && start < stop
            ? null
            : $"{SegWindowRule} (got [{SegWindowStart.Format(start)}, {SegWindowStop.Format(stop)}])";

    /// <summary>Checks every parameter; the window's start and stop are checked together, as the field <c>seg_window</c>.</summary>
    internal static IReadOnlyList<ParameterError> Validate(RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var errors = new List<ParameterError>();
        foreach (var definition in All.Where(d => d.Sweep.Field != ParameterNames.SegWindow))
        {
            if (definition.CheckValue(definition.ReadValue(parameters)) is { } rule)
            {
                errors.Add(new ParameterError(definition.Name, rule));
            }
        }
        if (CheckSegWindow(parameters.SegWindowStart, parameters.SegWindowStop) is { } window)
        {
            errors.Add(new ParameterError(ParameterNames.SegWindow, window));
        }
        return errors;
    }

    private static ParameterDefinition<int> Side(string name, string property, string what, Func<RenderParameters, int> read,
        Func<RenderParameters, int, RenderParameters> with) => new(
        name, property, $"{what}, a multiple of {SideMultiple} between {MinSide} and {MaxSide}.",
        DefaultSide, ValueForms.Integer, SideRule,
        side => side % SideMultiple == 0 && side is >= MinSide and <= MaxSide,
        read, with, new(ParameterNames.Size, 2), new("Size", "x"));

    private static ParameterDefinition<double> NonNegative(string name, string property, string description, double defaultValue,
        Func<RenderParameters, double> read, Func<RenderParameters, double, RenderParameters> with, int order, ParameterLabel label) => new(
        name, property, description, defaultValue, ValueForms.Number, "must be >= 0",
        value => double.IsFinite(value) && value >= 0,
        read, with, new(name, order), label);

    private static ParameterDefinition<double> Fraction(string name, string property, string description, double defaultValue,
        Func<RenderParameters, double> read, Func<RenderParameters, double, RenderParameters> with, string sweepField, ParameterLabel label) => new(
        name, property, description, defaultValue, ValueForms.Number, "must be between 0 and 1",
        value => value is >= 0 and <= 1,
        read, with, new(sweepField, null), label);

    private static string? CheckLayers(string layers)
    {
        var parts = layers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            return "must name at least one layer group or index, such as mid or d0,m0";
        }
        // The pipeline's layer parser reads these case-insensitively, and "all" as every group.
        var unknown = parts.FirstOrDefault(part =>
            !LayerGroups.Contains(part.ToLowerInvariant()) && !part.Equals(AllLayers, StringComparison.OrdinalIgnoreCase) && !LayerIndex().IsMatch(part));
        return unknown is null ? null : $"unknown group '{unknown}'; use down, mid, up, {AllLayers} or d<i>, m<i>, u<i>";
    }

    [GeneratedRegex(@"^[dmu][0-9]{1,4}$", RegexOptions.IgnoreCase)]
    private static partial Regex LayerIndex();
}
