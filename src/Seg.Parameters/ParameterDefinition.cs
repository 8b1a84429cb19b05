using System.Globalization;

namespace Seg.Parameters;

/// <summary>
/// One render parameter, defined once: its snake_case <see cref="Name"/> (sweeps, JSON, provenance, database
/// column), its type, default, rule and A1111 label, how people write its values, and where it sits in a sweep.
/// Read a value from <see cref="RenderParameters"/> with <see cref="ReadValue"/> (or the typed
/// <see cref="ParameterDefinition{T}.Read"/>); format and parse values as users write them with
/// <see cref="FormatValue"/> and <see cref="TryParseValue"/>.
/// </summary>
public abstract class ParameterDefinition
{
    private protected ParameterDefinition(string name, string propertyName, string description, string rule, ParameterSweep sweep, ParameterLabel? label)
    {
        Name = name;
        PropertyName = propertyName;
        Description = description;
        Rule = rule;
        Sweep = sweep;
        Label = label;
    }

    /// <summary>The snake_case name: the JSON field of <see cref="RenderParameters"/>, the provenance key, the column.</summary>
    public string Name { get; }

    /// <summary>The property of <see cref="RenderParameters"/> that holds the value.</summary>
    public string PropertyName { get; }

    /// <summary>What the parameter does, for help texts and documentation.</summary>
    public string Description { get; }

    /// <summary>The rule a value must keep, phrased to follow the name (<c>must be between 1 and 1000</c>).</summary>
    public string Rule { get; }

    /// <summary>How a sweep writes the parameter: its field there and its place in the expansion order.</summary>
    public ParameterSweep Sweep { get; }

    /// <summary>Its entry in the A1111 "parameters" text, or null when it has none there (the prompts are lines of their own).</summary>
    public ParameterLabel? Label { get; }

    /// <summary>The type of its values: <see cref="string"/>, <see cref="int"/>, <see cref="long"/> or <see cref="double"/>.</summary>
    public abstract Type ValueType { get; }

    /// <summary>Whether null is a value (only <c>vae</c>: the model's own VAE).</summary>
    public abstract bool IsOptional { get; }

    /// <summary>The default value, boxed.</summary>
    public abstract object? DefaultValue { get; }

    /// <summary>The value of this parameter in <paramref name="parameters"/>, boxed.</summary>
    public abstract object? ReadValue(RenderParameters parameters);

    /// <summary>A value as people write it (<c>inf</c> for the infinite blur, invariant numbers, text as it is).</summary>
    /// <exception cref="ArgumentException">The value is not of <see cref="ValueType"/>.</exception>
    public abstract string FormatValue(object? value);

    /// <summary>Reads a value as people write it (<c>--where seg_scale=3</c>, a command-line option, a grid label).</summary>
    /// <param name="text">The text.</param>
    /// <param name="value">The value, of <see cref="ValueType"/>.</param>
    /// <param name="error">When false: why, phrased to follow the name (<c>must be a number (got 'x')</c>).</param>
    /// <returns>Whether the text is a value of this parameter's type; the rule is checked apart (<see cref="CheckValue"/>).</returns>
    public abstract bool TryParseValue(string text, out object? value, out string error);

    /// <summary>The broken rule with the value (<c>must be between 1 and 1000 (got 0)</c>), or null when the value keeps it.</summary>
    /// <exception cref="ArgumentException">The value is not of <see cref="ValueType"/>.</exception>
    public abstract string? CheckValue(object? value);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A render parameter whose values are of type <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class ParameterDefinition<T> : ParameterDefinition
{
    private readonly Func<RenderParameters, T> _read;
    private readonly Func<RenderParameters, T, RenderParameters> _with;
    private readonly ValueForm<T> _form;
    private readonly Func<T, string?> _check;

    // keeps: whether a value keeps the rule; a broken rule reads "rule (got value)". explain: for a rule whose
    // message depends on the value, the message, or null when the value keeps it.
    internal ParameterDefinition(
        string name,
        string propertyName,
        string description,
        T defaultValue,
        ValueForm<T> form,
        string rule,
        Func<T, bool> keeps,
        Func<RenderParameters, T> read,
        Func<RenderParameters, T, RenderParameters> with,
        ParameterSweep sweep,
        ParameterLabel? label,
        Func<T, string?>? explain = null)
        : base(name, propertyName, description, rule, sweep, label)
    {
        Default = defaultValue;
        _form = form;
        _check = explain ?? (value => keeps(value) ? null : $"{rule} (got {Show(value)})");
        _read = read;
        _with = with;
    }

    /// <summary>The default: what a sweep uses when it leaves the parameter out.</summary>
    public T Default { get; }

    /// <inheritdoc />
    public override Type ValueType => typeof(T);

    /// <inheritdoc />
    public override bool IsOptional => _form.AllowsNull;

    /// <inheritdoc />
    public override object? DefaultValue => Default;

    /// <summary>The value of this parameter in <paramref name="parameters"/>.</summary>
    public T Read(RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return _read(parameters);
    }

    /// <summary><paramref name="parameters"/> with this parameter set to <paramref name="value"/>.</summary>
    public RenderParameters With(RenderParameters parameters, T value)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return _with(parameters, value);
    }

    /// <summary>The broken rule with the value, or null when <paramref name="value"/> keeps the rule.</summary>
    public string? Check(T value) => _check(value);

    /// <summary>A value as people write it.</summary>
    public string Format(T value) => _form.Format(value);

    /// <summary>Reads a value as people write it; see <see cref="ParameterDefinition.TryParseValue"/>.</summary>
    public bool TryParse(string text, out T value, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_form.TryParse(text, out value))
        {
            error = "";
            return true;
        }
        error = $"{_form.Expected} (got '{text}')";
        return false;
    }

    /// <inheritdoc />
    public override object? ReadValue(RenderParameters parameters) => Read(parameters);

    /// <inheritdoc />
    public override string FormatValue(object? value) => Format(Unbox(value));

    /// <inheritdoc />
    public override bool TryParseValue(string text, out object? value, out string error)
    {
        var parsed = TryParse(text, out var typed, out error);
        value = typed;
        return parsed;
    }

    /// <inheritdoc />
    public override string? CheckValue(object? value) => Check(Unbox(value));

    /// <summary>A value in an error: text quoted, anything else as people write it.</summary>
    private string Show(T value) => value is string text ? $"'{text}'" : _form.Format(value);

    private T Unbox(object? value) => value switch
    {
        T typed => typed,
        null when IsOptional => default!,
        _ => throw new ArgumentException($"{Name} takes {typeof(T).Name} values (got {value?.GetType().Name ?? "null"})", nameof(value)),
    };
}

/// <summary>How a sweep writes a parameter.</summary>
/// <param name="Field">The sweep's field (<c>prompts</c> for <c>prompt</c>, <c>size</c> for width and height).</param>
/// <param name="Order">
/// The place of the field's list in the expansion order, 0 the slowest; null when a sweep gives one value for every
/// image (<c>model</c>, <c>negative_prompt</c>, <c>guidance_rescale</c>, <c>seg_window</c>).
/// </param>
public sealed record ParameterSweep(string Field, int? Order)
{
    /// <summary>Whether a sweep gives a list of values for the field (one image per value).</summary>
    public bool IsSwept => Order is not null;
}

/// <summary>A parameter's entry in the A1111 "parameters" text (<c>Steps: 30, Sampler: euler, ...</c>).</summary>
/// <param name="Text">The label (<c>CFG scale</c>). Parameters that share a label form one entry (<c>Size: 1024x1024</c>).</param>
/// <param name="Joiner">Between the values of the parameters that share the label (<c>x</c> for the size).</param>
/// <param name="ShownWhen">When the entry is written; always when null.</param>
public sealed record ParameterLabel(string Text, string Joiner = "", Func<RenderParameters, bool>? ShownWhen = null);

/// <summary>How people write the values of one type: formatting, parsing and what a parse error expects.</summary>
internal sealed record ValueForm<T>(Func<T, string> Format, TryParseFunc<T> TryParse, string Expected, bool AllowsNull = false);

/// <summary>A parse in the <c>TryParse</c> pattern.</summary>
internal delegate bool TryParseFunc<T>(string text, out T value);

/// <summary>The value forms of the parameters.</summary>
internal static class ValueForms
{
    public static ValueForm<string> Text { get; } = new(text => text, (string text, out string value) =>
    {
        value = text;
        return true;
    }, "must be text");

    /// <summary>Text or nothing; people write nothing as an empty text.</summary>
    public static ValueForm<string?> OptionalText { get; } = new(text => text ?? "", (string text, out string? value) =>
    {
        value = text.Length == 0 ? null : text;
        return true;
    }, "must be text", AllowsNull: true);

    public static ValueForm<int> Integer { get; } = new(
        value => value.ToString(CultureInfo.InvariantCulture),
        (string text, out int value) => int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value),
        "must be a whole number");

    public static ValueForm<long> Int64 { get; } = new(
        value => value.ToString(CultureInfo.InvariantCulture),
        (string text, out long value) => long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value),
        "must be a whole number");

    public static ValueForm<double> Number { get; } = new(
        value => value.ToString("R", CultureInfo.InvariantCulture),
        (string text, out double value) =>
            double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value),
        "must be a number");

    public static ValueForm<double> Sigma { get; } = new(SegBlurSigma.Format, SegBlurSigma.TryParse, SegBlurSigmaJsonConverter.FormRule);
}
