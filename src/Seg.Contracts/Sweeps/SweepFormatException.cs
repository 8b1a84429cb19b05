namespace Seg.Contracts.Sweeps;

/// <summary>A sweep document whose shape is wrong before any field can be read (raised and caught inside the parser).</summary>
internal sealed class SweepFormatException(string field, string rule) : Exception($"{field} {rule}")
{
    /// <summary>The field (or <see cref="ValidationError.Sweep"/>).</summary>
    public string Field { get; } = field;

    /// <summary>The rule.</summary>
    public string Rule { get; } = rule;
}
