using System.Globalization;
using System.Text.RegularExpressions;

namespace Seg.Contracts.Sweeps;

/// <summary>An image size as a sweep writes it, <c>WIDTHxHEIGHT</c> (<c>1024x768</c>).</summary>
internal readonly partial record struct ImageSize(int Width, int Height)
{
    /// <summary>Reads <c>WIDTHxHEIGHT</c>; false for anything else.</summary>
    public static bool TryParse(string text, out ImageSize size)
    {
        var match = Pattern().Match(text);
        size = match.Success
            ? new ImageSize(int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture))
            : default;
        return match.Success;
    }

    /// <summary><c>WIDTHxHEIGHT</c>.</summary>
    public override string ToString() => $"{Width}x{Height}";

    [GeneratedRegex(@"^\s*([0-9]{1,6})\s*x\s*([0-9]{1,6})\s*$")]
    private static partial Regex Pattern();
}
