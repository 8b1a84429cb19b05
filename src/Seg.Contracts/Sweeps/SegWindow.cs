using System.Text.Json.Serialization;
using Seg.Contracts.Json;
using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// The fractions of the steps between which SEG applies (<c>seg_window: [0.2, 0.8]</c>): from <see cref="Start"/>
/// (inclusive) to <see cref="Stop"/> (exclusive). The default, [0, 1], is the official pipeline's: every step.
/// </summary>
/// <param name="Start">First fraction of the steps with SEG, 0 .. 1.</param>
/// <param name="Stop">Fraction of the steps where SEG stops, above <paramref name="Start"/>, at most 1.</param>
[JsonConverter(typeof(SegWindowJsonConverter))]
public sealed record SegWindow(double Start, double Stop)
{
    /// <summary>SEG on every step: the defaults of <c>seg_window_start</c> and <c>seg_window_stop</c>, [0, 1].</summary>
    public static SegWindow Full { get; } = new(ParameterDefinitions.SegWindowStart.Default, ParameterDefinitions.SegWindowStop.Default);
}
