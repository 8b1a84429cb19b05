namespace Seg.Parameters;

/// <summary>
/// A condition on one parameter as people write it, <c>seg_scale=3</c> or <c>seg_blur_sigma=inf</c> (an
/// exporter's <c>--where</c>). Values compare as people write them, so <c>3</c> matches 3.0 and <c>inf</c> matches
/// every sigma above the infinite-blur cut-off.
/// </summary>
/// <param name="Parameter">The parameter.</param>
/// <param name="Value">The value, of the parameter's type.</param>
public sealed record ParameterCondition(ParameterDefinition Parameter, object? Value)
{
    /// <summary>Reads <c>name=value</c>.</summary>
    /// <param name="text">The condition.</param>
    /// <param name="condition">The condition read.</param>
    /// <param name="error">When false: what is wrong, naming the parameter where there is one.</param>
    /// <returns>Whether the text is a condition on a known parameter with a value of its type.</returns>
    public static bool TryParse(string text, out ParameterCondition? condition, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        condition = null;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            error = $"must be name=value such as {ParameterNames.SegScale}=3 (got '{text}')";
            return false;
        }
        var name = text[..equals].Trim();
        if (ParameterDefinitions.Find(name) is not { } parameter)
        {
            error = $"'{name}' is not a render parameter; the parameters are {string.Join(", ", ParameterDefinitions.All)}";
            return false;
        }
        if (!parameter.TryParseValue(text[(equals + 1)..], out var value, out var rule))
        {
            error = $"{name} {rule}";
            return false;
        }
        condition = new ParameterCondition(parameter, value);
        error = "";
        return true;
    }

    /// <summary>Whether <paramref name="parameters"/> has the value.</summary>
    public bool Matches(RenderParameters parameters) =>
        Parameter.FormatValue(Parameter.ReadValue(parameters)) == Parameter.FormatValue(Value);

    /// <summary><c>name=value</c>, the value as people write it.</summary>
    public override string ToString() => $"{Parameter.Name}={Parameter.FormatValue(Value)}";
}
