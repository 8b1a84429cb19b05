using System.Collections.Frozen;

namespace Seg.Pipeline.Text;

/// <summary>
/// CPython 3.11's <c>html.unescape</c>, on code points. Written by hand because
/// <see cref="System.Net.WebUtility.HtmlDecode(string)"/> follows other rules: it needs the ";" (Python turns
/// "&amp;amp", "&amp;copy2024" and "&amp;#39" into "&amp;", "©2024" and "'"), knows only the HTML 4 names, and keeps
/// what HTML5 fixes up: "&amp;#0;" stays U+0000 (Python: U+FFFD), "&amp;#x80;" stays U+0080 (Python: the
/// Windows-1252 "€"), "&amp;#1;" stays U+0001 (Python drops it), "&amp;#xD800;" stays as text (Python: U+FFFD).
/// </summary>
internal static class PythonHtml
{
    // Python's pattern: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
    private const int MaxNameLength = 32;

    // int(s) in Python 3.11 refuses decimal strings longer than this (sys.int_info.default_max_str_digits),
    // so html.unescape itself raises ValueError on such a reference.
    private const int MaxDecimalDigits = 4300;

    // The HTML5 numeric-reference fix-ups (html._invalid_charrefs): NUL, CR and the Windows-1252 C1 range.
    private static readonly FrozenDictionary<int, int> InvalidCharReferences = new Dictionary<int, int>
    {
        [0x00] = 0xFFFD,
        [0x0D] = 0x0D,
        [0x80] = 0x20AC,
        [0x81] = 0x81,
        [0x82] = 0x201A,
        [0x83] = 0x0192,
        [0x84] = 0x201E,
        [0x85] = 0x2026,
        [0x86] = 0x2020,
        [0x87] = 0x2021,
        [0x88] = 0x02C6,
        [0x89] = 0x2030,
        [0x8A] = 0x0160,
        [0x8B] = 0x2039,
        [0x8C] = 0x0152,
        [0x8D] = 0x8D,
        [0x8E] = 0x017D,
        [0x8F] = 0x8F,
        [0x90] = 0x90,
        [0x91] = 0x2018,
        [0x92] = 0x2019,
        [0x93] = 0x201C,
        [0x94] = 0x201D,
        [0x95] = 0x2022,
        [0x96] = 0x2013,
        [0x97] = 0x2014,
        [0x98] = 0x02DC,
        [0x99] = 0x2122,
        [0x9A] = 0x0161,
        [0x9B] = 0x203A,
        [0x9C] = 0x0153,
        [0x9D] = 0x9D,
        [0x9E] = 0x017E,
        [0x9F] = 0x0178,
    }.ToFrozenDictionary();

    /// <summary>Python's <c>html.unescape(text)</c>.</summary>
    /// <exception cref="ArgumentException">A decimal reference has more than 4300 digits (Python raises too).</exception>
    public static int[] Unescape(int[] text)
    {
        if (Array.IndexOf(text, '&') < 0)
        {
            return text;
        }

        var result = new List<int>(text.Length);
        var position = 0;
        while (position < text.Length)
        {
            if (text[position] == '&' && TryReplaceReference(text, position, result, out var consumed))
            {
                position += consumed;
            }
            else
            {
                result.Add(text[position++]);
            }
        }
        return [.. result];
    }

    // Tries the three alternatives of Python's pattern at the '&' at `start`; on a match appends the
    // replacement and reports how many code points the match covered.
    private static bool TryReplaceReference(int[] text, int start, List<int> result, out int consumed)
    {
        var next = start + 1;
        if (next < text.Length && text[next] == '#')
        {
            return TryReplaceNumeric(text, start, result, out consumed);
        }

        var end = next;
        while (end < text.Length && end - next < MaxNameLength && IsNameCharacter(text[end]))
        {
            end++;
        }
        if (end == next)
        {
            consumed = 0;
            return false;
        }
        if (end < text.Length && text[end] == ';')
        {
            end++;
        }
        consumed = end - start;
        AppendNamedReplacement(PythonText.FromCodePoints(text.AsSpan(next, end - next)), result);
        return true;
    }

    private static bool IsNameCharacter(int codePoint) =>
        codePoint is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';');

    private static void AppendNamedReplacement(string name, List<int> result)
    {
        if (HtmlEntities.Html5.TryGetValue(name, out var replacement))
        {
            result.AddRange(PythonText.ToCodePoints(replacement));
            return;
        }

        // The longest known prefix of at least two characters wins; the rest stays as it was ("&ampx" -> "&x").
        // Names are ASCII, so string indices are code-point indices for every prefix that can match.
        for (var length = name.Length - 1; length >= 2; length--)
        {
            if (HtmlEntities.Html5.TryGetValue(name[..length], out replacement))
            {
                result.AddRange(PythonText.ToCodePoints(replacement));
                result.AddRange(PythonText.ToCodePoints(name[length..]));
                return;
            }
        }

        result.Add('&');
        result.AddRange(PythonText.ToCodePoints(name));
    }

    // At "&#" (`start` is the '&'): decimal digits, or x/X and hex digits, then an optional ';'.
    private static bool TryReplaceNumeric(int[] text, int start, List<int> result, out int consumed)
    {
        var digitsStart = start + 2;
        var isHex = digitsStart < text.Length && text[digitsStart] is 'x' or 'X';
        if (isHex)
        {
            digitsStart++;
        }

        var end = digitsStart;
        var value = 0L;
        while (end < text.Length && DigitValue(text[end], isHex) is var digit && digit >= 0)
        {
            // Saturate: anything past U+10FFFF is replaced by U+FFFD whatever its exact value.
            value = Math.Min(value * (isHex ? 16 : 10) + digit, 0x110000);
            end++;
        }
        if (end == digitsStart)
        {
            consumed = 0;
            return false;
        }
        if (!isHex && end - digitsStart > MaxDecimalDigits)
        {
            throw new ArgumentException(
                $"text: a decimal character reference may have at most {MaxDecimalDigits} digits (got {end - digitsStart}); " +
                "Python's html.unescape rejects it too.", "text");
        }
        if (end < text.Length && text[end] == ';')
        {
            end++;
        }
        consumed = end - start;

        var codePoint = (int)value;
        if (InvalidCharReferences.TryGetValue(codePoint, out var fixedUp))
        {
            result.Add(fixedUp);
        }
        else if (codePoint is (>= 0xD800 and <= 0xDFFF) or > 0x10FFFF)
        {
            result.Add(0xFFFD);
        }
        else if (!IsDroppedCodePoint(codePoint))
        {
            result.Add(codePoint);
        }
        return true;
    }

    private static int DigitValue(int codePoint, bool isHex) => codePoint switch
    {
        >= '0' and <= '9' => codePoint - '0',
        >= 'a' and <= 'f' when isHex => codePoint - 'a' + 10,
        >= 'A' and <= 'F' when isHex => codePoint - 'A' + 10,
        _ => -1,
    };

    // html._invalid_codepoints: controls, noncharacters and U+000B; a reference to one of them becomes "".
    private static bool IsDroppedCodePoint(int codePoint) =>
        codePoint is (>= 0x01 and <= 0x08) or 0x0B or (>= 0x0E and <= 0x1F) or (>= 0x7F and <= 0x9F)
            or (>= 0xFDD0 and <= 0xFDEF)
        || (codePoint & 0xFFFE) == 0xFFFE;
}
