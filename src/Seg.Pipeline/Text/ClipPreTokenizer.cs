using System.Globalization;

namespace Seg.Pipeline.Text;

/// <summary>
/// CLIP's <c>regex.findall</c> with
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// and IGNORECASE, as a scanner over code points. Not a .NET <see cref="System.Text.RegularExpressions.Regex"/>:
/// that matches UTF-16 code units, so an astral letter ("𝐀", "𐐨") would be two surrogates, which are neither
/// \p{L} nor \p{N} there, and .NET's \s is not the regex module's \s. Every alternative is a literal or a greedy
/// run of one class, so trying them in order at each position reproduces the regex exactly.
/// </summary>
internal static class ClipPreTokenizer
{
    private const string StartOfText = "<|startoftext|>";
    private const string EndOfText = "<|endoftext|>";
    private static readonly string[] Contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    // U+0345 (combining ypogegrammeni, Mn) case-folds to a Greek letter; under IGNORECASE the regex module
    // neither counts it a letter nor lets [^\s\p{L}\p{N}] take it, so findall skips it like a space.
    private const int Ypogegrammeni = 0x0345;

    /// <summary>The (start, length) of every match, in code points of <paramref name="text"/>.</summary>
    public static List<(int Start, int Length)> Split(int[] text)
    {
        var pieces = new List<(int Start, int Length)>();
        var position = 0;
        while (position < text.Length)
        {
            var length = MatchAt(text, position);
            if (length == 0)
            {
                position++;
                continue;
            }
            pieces.Add((position, length));
            position += length;
        }
        return pieces;
    }

    private static int MatchAt(int[] text, int position)
    {
        if (MatchesLiteral(text, position, StartOfText))
        {
            return StartOfText.Length;
        }
        if (MatchesLiteral(text, position, EndOfText))
        {
            return EndOfText.Length;
        }
        if (text[position] == '\'')
        {
            foreach (var contraction in Contractions)
            {
                if (MatchesLiteral(text, position + 1, contraction))
                {
                    return 1 + contraction.Length;
                }
            }
        }

        var kind = Classify(text[position]);
        if (kind == CharacterKind.Number)
        {
            return 1;
        }
        if (kind == CharacterKind.Skipped)
        {
            return 0;
        }
        var end = position + 1;
        while (end < text.Length && Classify(text[end]) == kind)
        {
            end++;
        }
        return end - position;
    }

    // Literals are ASCII, so literal indices equal code-point counts.
    private static bool MatchesLiteral(int[] text, int position, string literal)
    {
        if (position + literal.Length > text.Length)
        {
            return false;
        }
        for (var offset = 0; offset < literal.Length; offset++)
        {
            if (!EqualsIgnoringCase(text[position + offset], literal[offset]))
            {
                return false;
            }
        }
        return true;
    }

    // The regex module's simple case folding for the lower-case ASCII letters of the pattern; of those only
    // 's' has a non-ASCII equivalent, U+017F "ſ" (which str.lower() leaves as it is).
    private static bool EqualsIgnoringCase(int codePoint, char literal) =>
        codePoint == literal
        || (literal is >= 'a' and <= 'z' && codePoint == char.ToUpperInvariant(literal))
        || (literal == 's' && codePoint == 0x017F);

    private enum CharacterKind
    {
        Letter,
        Number,
        Other,
        Skipped,
    }

    private static CharacterKind Classify(int codePoint)
    {
        if (PythonText.IsRegexSpace(codePoint) || codePoint == Ypogegrammeni)
        {
            return CharacterKind.Skipped;
        }
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharacterKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
                or UnicodeCategory.OtherNumber => CharacterKind.Number,
            _ => CharacterKind.Other,
        };
    }
}
