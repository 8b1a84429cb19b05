using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// One swept field of a sweep (<c>seg_blur_sigma: [1, 4, inf]</c>): the parameters it sets, how many values it has
/// and each value as people write it. A grid of a sweep takes two axes that vary (<see cref="SweepAxes.Varied"/>)
/// as rows and columns, labels them with <see cref="Label"/>, and places an image by <see cref="LabelOf"/>.
/// </summary>
public sealed class SweepAxis
{
    private readonly Func<long, string> _label;
    private readonly Func<RenderParameters, string> _labelOf;
    private readonly Func<RenderParameters, long, RenderParameters> _apply;

    private SweepAxis(string name, IReadOnlyList<ParameterDefinition> parameters, long count, bool isText,
        Func<long, string> label, Func<RenderParameters, string> labelOf, Func<RenderParameters, long, RenderParameters> apply,
        string? unresolvable = null)
    {
        Unresolvable = unresolvable;
        Name = name;
        Parameters = parameters;
        Count = count;
        IsText = isText;
        _label = label;
        _labelOf = labelOf;
        _apply = apply;
    }

    /// <summary>The sweep's field (<c>prompts</c>, <c>seeds</c>, <c>size</c>, <c>seg_blur_sigma</c>, ...).</summary>
    public string Name { get; }

    /// <summary>The parameters one value sets: one, or <c>width</c> and <c>height</c> for <c>size</c>.</summary>
    public IReadOnlyList<ParameterDefinition> Parameters { get; }

    /// <summary>The number of values (a seed range counts its length).</summary>
    public long Count { get; }

    /// <summary>Whether the sweep varies the field: more than one value.</summary>
    public bool IsVaried => Count > 1;

    /// <summary>Why a value cannot be applied (a size that is no <c>WIDTHxHEIGHT</c>), naming it; null when all can.</summary>
    internal string? Unresolvable { get; }

    /// <summary>Whether the values are text (errors quote them).</summary>
    internal bool IsText { get; }

    /// <summary>The place of the field in the expansion order, 0 the slowest.</summary>
    public int Order => Parameters[0].Sweep.Order!.Value;

    /// <summary>The value at <paramref name="index"/> as people write it (<c>inf</c>, <c>1024x768</c>, <c>3</c>).</summary>
    public string Label(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _label(index);
    }

    /// <summary>The value of this field in one image's parameters, as people write it: a grid cell's row or column.</summary>
    public string LabelOf(RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return _labelOf(parameters);
    }

    /// <summary><paramref name="parameters"/> with the field at the value <paramref name="index"/>.</summary>
    internal RenderParameters Apply(RenderParameters parameters, long index) => _apply(parameters, index);

    /// <summary>An axis of one parameter over a list of its values.</summary>
    internal static SweepAxis Of<T>(ParameterDefinition<T> parameter, IReadOnlyList<T> values) =>
        new(parameter.Sweep.Field, [parameter], values.Count, typeof(T) == typeof(string),
            index => parameter.Format(values[(int)index]),
            p => parameter.Format(parameter.Read(p)),
            (p, index) => parameter.With(p, values[(int)index]));

    /// <summary>The seeds: a list or a range, never materialised.</summary>
    internal static SweepAxis Of(SeedSet seeds)
    {
        var seed = ParameterDefinitions.Seed;
        return new(seed.Sweep.Field, [seed], seeds.Count, isText: false,
            index => seed.Format(seeds[index]), p => seed.Format(p.Seed), (p, index) => seed.With(p, seeds[index]));
    }

    /// <summary>
    /// The sizes, <c>WIDTHxHEIGHT</c> texts setting width and height. A text that is no size has its text as label
    /// and cannot be applied (the validator reports it first).
    /// </summary>
    internal static SweepAxis Of(IReadOnlyList<string> sizes)
    {
        var parsed = sizes.Select(text => ImageSize.TryParse(text, out var size) ? size : (ImageSize?)null).ToArray();
        var first = Array.FindIndex(parsed, size => size is null);
        return new(ParameterNames.Size, [ParameterDefinitions.Width, ParameterDefinitions.Height], sizes.Count, isText: true,
            index => parsed[index]?.ToString() ?? sizes[(int)index],
            p => ImageSize.Of(p).ToString(),
            (p, index) => parsed[index] is { } size ? p with { Width = size.Width, Height = size.Height } : p,
            first < 0 ? null : $"{ParameterNames.Size}[{first}] {ImageSize.FormRule} (got '{sizes[first]}')");
    }
}

/// <summary>The swept fields of a sweep, in expansion order (the order the parameters' definitions give).</summary>
public static class SweepAxes
{
    /// <summary>Every swept field of <paramref name="definition"/>, slowest first; a field with one value is an axis of length 1.</summary>
    public static IReadOnlyList<SweepAxis> Of(SweepDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        SweepAxis[] axes =
        [
            SweepAxis.Of(ParameterDefinitions.Prompt, definition.Prompts),
            SweepAxis.Of(definition.Seeds),
            SweepAxis.Of(definition.Size),
            SweepAxis.Of(ParameterDefinitions.Steps, definition.Steps),
            SweepAxis.Of(ParameterDefinitions.Scheduler, definition.Scheduler),
            SweepAxis.Of(ParameterDefinitions.GuidanceScale, definition.GuidanceScale),
            SweepAxis.Of(ParameterDefinitions.SegLayers, definition.SegLayers),
            SweepAxis.Of(ParameterDefinitions.SegBlurSigma, definition.SegBlurSigma),
            SweepAxis.Of(ParameterDefinitions.SegScale, definition.SegScale),
        ];
        return [.. axes.OrderBy(axis => axis.Order)];
    }

    /// <summary>The fields that <paramref name="definition"/> varies (more than one value), slowest first: a grid's candidate rows and columns.</summary>
    public static IReadOnlyList<SweepAxis> Varied(SweepDefinition definition) => [.. Of(definition).Where(axis => axis.IsVaried)];

    /// <summary>The parameters every image of <paramref name="definition"/> shares before its swept fields are set.</summary>
    internal static RenderParameters Fixed(SweepDefinition definition) => ParameterDefinitions.Defaults with
    {
        Model = definition.Model,
        Vae = string.IsNullOrWhiteSpace(definition.Vae) ? null : definition.Vae,
        NegativePrompt = definition.NegativePrompt,
        GuidanceRescale = definition.GuidanceRescale,
        SegWindowStart = definition.SegWindow.Start,
        SegWindowStop = definition.SegWindow.Stop,
    };
}
