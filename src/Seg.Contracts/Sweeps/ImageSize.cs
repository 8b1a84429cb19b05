using System.Globalization;
using System.Text.RegularExpressions;
using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>An image size as a sweep writes it, <c>WIDTHxHEIGHT</c> (<c>1024x768</c>).</summary>
internal readonly partial record struct ImageSize(int Width, int Height)
{
    /// <summary>The form of a size, phrased to follow the field.</summary>
    public const string FormRule = "must be WIDTHxHEIGHT such as 1024x1024";

    /// <summary>Reads <c>WIDTHxHEIGHT</c>; false for anything else.</summary>
    public static bool TryParse(string text, out ImageSize size)
    {
        var match = Pattern().Match(text);
        size = match.Success
            ? new ImageSize(int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture))
            : default;
        return match.Success;
    }

    /// <summary>The size of an image's parameters.</summary>
    public static ImageSize Of(RenderParameters parameters) => new(parameters.Width, parameters.Height);

    /// <summary>The first rule of width or height that the size breaks, naming the side; null when both keep theirs.</summary>
    public string? Check() =>
        ParameterDefinitions.Width.Check(Width) is { } width ? $"{ParameterNames.Width} {width}"
        : ParameterDefinitions.Height.Check(Height) is { } height ? $"{ParameterNames.Height} {height}"
        : null;

    /// <summary><c>WIDTHxHEIGHT</c>.</summary>
    public override string ToString() => $"{Width}x{Height}";

    [GeneratedRegex(@"^\s*([0-9]{1,6})\s*x\s*([0-9]{1,6})\s*$")]
    private static partial Regex Pattern();
}
