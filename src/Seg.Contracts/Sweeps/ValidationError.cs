namespace Seg.Contracts.Sweeps;

/// <summary>
/// One broken rule: the field, with its index or key where it has one (<c>seg_blur_sigma[1]</c>,
/// <c>seeds.count</c>, or <c>sweep</c> for the document as a whole), and the rule, phrased to follow the field:
/// <c>seg_blur_sigma[1] must be &gt; 0 or "inf" (got -1)</c>.
/// </summary>
/// <param name="Field">The field, in the sweep's snake_case naming.</param>
/// <param name="Rule">The rule that the field breaks, with the offending value.</param>
public sealed record ValidationError(string Field, string Rule)
{
    /// <summary>The field name used for the sweep as a whole (syntax, document shape, task count).</summary>
    public const string Sweep = "sweep";

    /// <summary>"field rule", as a person reads it.</summary>
    public override string ToString() => $"{Field} {Rule}";
}
