using System.Globalization;

namespace Seg.Parameters;

/// <summary>
/// How people write a SEG blur sigma and what it means: a number, or <c>inf</c> for the infinite blur (every query
/// becomes the mean query). As in the official pipeline, any sigma above <see cref="InfiniteThreshold"/> is the
/// infinite blur. The one place that knows the cut-off and reads and writes <c>inf</c>.
/// </summary>
public static class SegBlurSigma
{
    /// <summary>A sigma strictly above this value means infinite blur (the official pipeline's cut-off).</summary>
    public const double InfiniteThreshold = 9999;

    /// <summary>How the infinite blur is written.</summary>
    public const string InfinityText = "inf";

    /// <summary>True when <paramref name="sigma"/> selects the infinite blur.</summary>
    public static bool IsInfinite(double sigma) => sigma > InfiniteThreshold;

    /// <summary>A sigma as people write it: <c>inf</c> for the infinite blur, else the invariant number.</summary>
    public static string Format(double sigma) =>
        IsInfinite(sigma) ? InfinityText : sigma.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a sigma: an invariant number, or <c>inf</c> (also <c>+inf</c>, YAML's <c>.inf</c> and <c>infinity</c>,
    /// any case) as <see cref="double.PositiveInfinity"/>. Says nothing of the rule (&gt; 0): that is the definition's.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="sigma">The sigma read.</param>
    /// <returns>False when the text is neither a number nor a way of writing infinity.</returns>
    public static bool TryParse(string text, out double sigma)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.TrimStart('+').ToLowerInvariant() is InfinityText or "." + InfinityText or "infinity")
        {
            sigma = double.PositiveInfinity;
            return true;
        }
        return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out sigma) && !double.IsNaN(sigma);
    }
}
