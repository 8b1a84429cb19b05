using System.Globalization;
using System.Text;

namespace Seg.Pipeline.Text;

/// <summary>
/// The pieces of CPython 3.11 string semantics that CLIP's text cleaning relies on, on Unicode code points:
/// Python strings are sequences of code points, .NET strings are UTF-16, so an astral character (emoji,
/// mathematical letters) must be one unit here, never two surrogates.
/// </summary>
internal static class PythonText
{
    private const int CapitalSigma = 0x03A3;
    private const int SmallSigma = 0x03C3;
    private const int SmallFinalSigma = 0x03C2;
    private const int CapitalIWithDotAbove = 0x0130;

    /// <summary>The code points of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">The text holds a lone surrogate (Python's UTF-8 encoding fails on it too).</exception>
    public static int[] ToCodePoints(string text)
    {
        var codePoints = new List<int>(text.Length);
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            // EnumerateRunes yields U+FFFD for a lone surrogate; tell that apart from a real U+FFFD.
            if (rune == Rune.ReplacementChar && char.IsSurrogate(text[index]))
            {
                throw new ArgumentException(
                    $"text must be valid UTF-16 (lone surrogate U+{(int)text[index]:X4} at index {index}).", nameof(text));
            }
            codePoints.Add(rune.Value);
            index += rune.Utf16SequenceLength;
        }
        return [.. codePoints];
    }

    /// <summary>The string made of <paramref name="codePoints"/>.</summary>
    public static string FromCodePoints(ReadOnlySpan<int> codePoints)
    {
        var builder = new StringBuilder(codePoints.Length);
        foreach (var codePoint in codePoints)
        {
            builder.Append(new Rune(codePoint).ToString());
        }
        return builder.ToString();
    }

    /// <summary>
    /// Python's <c>str.isspace()</c> (bidi class WS, B or S, or category Zs); unlike
    /// <see cref="char.IsWhiteSpace(char)"/> it includes the separators U+001C..U+001F.
    /// </summary>
    public static bool IsPythonSpace(int codePoint) => codePoint is (>= 0x1C and <= 0x1F) || IsRegexSpace(codePoint);

    /// <summary>
    /// <c>\s</c> of the <c>regex</c> module CLIP uses: the Unicode White_Space property, which lacks U+001C..U+001F
    /// (so those are stripped at the ends but are symbols in the middle of a prompt).
    /// </summary>
    public static bool IsRegexSpace(int codePoint) =>
        codePoint is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    /// <summary>Python's <c>text.strip()</c>.</summary>
    public static int[] Strip(int[] text)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && IsPythonSpace(text[start]))
        {
            start++;
        }
        while (end > start && IsPythonSpace(text[end - 1]))
        {
            end--;
        }
        return start == 0 && end == text.Length ? text : text[start..end];
    }

    /// <summary>CLIP's <c>regex.sub(r'\s+', ' ', text)</c>.</summary>
    public static int[] CollapseWhitespace(int[] text)
    {
        var result = new List<int>(text.Length);
        foreach (var codePoint in text)
        {
            if (!IsRegexSpace(codePoint))
            {
                result.Add(codePoint);
            }
            else if (result.Count == 0 || !IsRegexSpace(result[^1]))
            {
                result.Add(' ');
            }
        }
        return [.. result];
    }

    /// <summary>
    /// Python's <c>str.lower()</c>. It differs from <see cref="string.ToLowerInvariant"/> in two ways: it applies the
    /// one unconditional multi-character lower-case mapping of SpecialCasing.txt (U+0130 "İ" becomes "i" + U+0307),
    /// and it lowers a capital sigma at the end of a word to the final form "ς" (the Final_Sigma context). Every other
    /// code point takes its simple lower-case mapping, which <see cref="Rune.ToLowerInvariant"/> gives for astral
    /// characters too.
    /// </summary>
    public static int[] Lower(int[] text)
    {
        var result = new List<int>(text.Length);
        for (var index = 0; index < text.Length; index++)
        {
            var codePoint = text[index];
            switch (codePoint)
            {
                case CapitalIWithDotAbove:
                    result.Add('i');
                    result.Add(0x0307);
                    break;
                case CapitalSigma:
                    result.Add(IsFinalSigma(text, index) ? SmallFinalSigma : SmallSigma);
                    break;
                default:
                    result.Add(Rune.ToLowerInvariant(new Rune(codePoint)).Value);
                    break;
            }
        }
        return [.. result];
    }

    // CPython's handle_capital_sigma: \p{Cased}\p{Case_Ignorable}* Σ !(\p{Case_Ignorable}* \p{Cased}).
    private static bool IsFinalSigma(int[] text, int sigmaIndex)
    {
        var before = sigmaIndex - 1;
        while (before >= 0 && IsCaseIgnorable(text[before]))
        {
            before--;
        }
        if (before < 0 || !IsCased(text[before]))
        {
            return false;
        }

        var after = sigmaIndex + 1;
        while (after < text.Length && IsCaseIgnorable(text[after]))
        {
            after++;
        }
        return after == text.Length || !IsCased(text[after]);
    }

    // Unicode's Cased: Lu, Ll, Lt, plus Other_Lowercase / Other_Uppercase that are not Case_Ignorable
    // (the only ones whose cased-ness the sigma rule can observe).
    private static bool IsCased(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.UppercaseLetter
            or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || codePoint is 0x00AA or 0x00BA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);

    // Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk, plus Word_Break MidLetter, MidNumLet and Single_Quote.
    private static bool IsCaseIgnorable(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.NonSpacingMark
            or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.ModifierLetter
            or UnicodeCategory.ModifierSymbol
        || codePoint is 0x0027 or 0x002E or 0x003A or 0x00B7 or 0x0387 or 0x055F or 0x05F4 or 0x2018 or 0x2019
            or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
