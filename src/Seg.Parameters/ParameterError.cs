namespace Seg.Parameters;

/// <summary>One broken rule of a render parameter: its name and the rule, with the value that broke it.</summary>
/// <param name="Field">The parameter's snake_case name (or a pair's field, such as <c>seg_window</c>).</param>
/// <param name="Rule">The rule, phrased to follow the field: <c>must be between 1 and 1000 (got 0)</c>.</param>
public sealed record ParameterError(string Field, string Rule)
{
    /// <summary>"field rule", as a person reads it.</summary>
    public override string ToString() => $"{Field} {Rule}";
}
