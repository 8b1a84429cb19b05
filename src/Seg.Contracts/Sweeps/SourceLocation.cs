namespace Seg.Contracts.Sweeps;

/// <summary>A place in a sweep file, 1-based, for error messages.</summary>
internal readonly record struct SourceLocation(long Line, long Column)
{
    /// <summary>"line 3, column 7".</summary>
    public override string ToString() => $"line {Line}, column {Column}";
}
