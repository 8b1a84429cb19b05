using Seg.Pipeline.Text;

namespace Seg.Pipeline.Tests.Text;

/// <summary>
/// The Python string rules the tokenizer reproduces, with expected values from the published rules: the WHATWG
/// character-reference rules and Python's html.unescape docs, Unicode's SpecialCasing / Final_Sigma and UnicodeData.
/// </summary>
public sealed class ClipTokenizerPythonRulesTests
{
    [Theory]
    [InlineData("&amp;", "&")]
    [InlineData("&amp", "&")] // legacy names need no ';'
    [InlineData("&amp;amp;", "&amp;")] // one pass only; CLIP unescapes twice
    [InlineData("&copy2024", "©2024")]
    [InlineData("I'm &notit; I tell you", "I'm ¬it; I tell you")] // the WHATWG spec's own example
    [InlineData("&notin;", "∉")]
    [InlineData("&nbsp", "\u00A0")]
    [InlineData("&#39;&#x27;&#X27", "'''")]
    [InlineData("&#x80;&#150;", "€–")] // numeric references in the C1 range are read as Windows-1252
    [InlineData("&#0;", "\uFFFD")]
    [InlineData("&#xD800;", "\uFFFD")]
    [InlineData("&#x110000;", "\uFFFD")]
    [InlineData("&#99999999999999999999999;", "\uFFFD")]
    [InlineData("a&#1;b&#xFFFE;c", "abc")] // invalid code points vanish
    [InlineData("&#x1F600;", "😀")]
    [InlineData("&#; &#x; &xyz; & a", "&#; &#x; &xyz; & a")]
    public void Unescape_FollowsPythonsHtmlUnescape(string text, string expected)
    {
        var actual = PythonText.FromCodePoints(PythonHtml.Unescape(PythonText.ToCodePoints(text)));

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Unescape_RejectsADecimalReferenceLongerThanPythonsIntLimit()
    {
        var text = PythonText.ToCodePoints("&#" + new string('1', 4301) + ";");

        var error = Assert.Throws<ArgumentException>(() => PythonHtml.Unescape(text));

        Assert.Contains("at most 4300 digits", error.Message);
    }

    [Theory]
    [InlineData("İstanbul", "i\u0307stanbul")] // SpecialCasing: U+0130 lowers to two code points
    [InlineData("ΟΔΟΣ", "οδος")] // Final_Sigma
    [InlineData("ΟΔΟΣ ΟΔΟΣ.", "οδος οδος.")]
    [InlineData("ΣΑ", "σα")]
    [InlineData("Σ", "σ")]
    [InlineData("ΑΣ'Α", "ασ'α")] // "'" is case-ignorable, so a cased letter still follows
    [InlineData("ǅ", "ǆ")] // title case
    [InlineData("𐐀𐐁", "𐐨𐐩")] // Deseret, outside the BMP
    [InlineData("ⅫⒶ", "ⅻⓐ")]
    public void Lower_FollowsPythonsStrLower(string text, string expected)
    {
        var actual = PythonText.FromCodePoints(PythonText.Lower(PythonText.ToCodePoints(text)));

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Whitespace_StripsWhatStrIsspaceCoversAndCollapsesUnicodeWhiteSpace()
    {
        var text = PythonText.ToCodePoints("\u001C\u3000a\u2003\u00A0b\t\nc\u001F");

        var cleaned = PythonText.Strip(PythonText.CollapseWhitespace(PythonText.Strip(text)));

        Assert.Equal("a b c", PythonText.FromCodePoints(cleaned));
    }

    [Theory]
    [InlineData("𝐀𝐁𝐂 x", new[] { "𝐀𝐁𝐂", "x" })] // astral letters are \p{L}, not two symbols
    [InlineData("a😀😀b", new[] { "a", "😀😀", "b" })]
    [InlineData("it's <|endoftext|>x", new[] { "it", "'s", "<|endoftext|>", "x" })]
    [InlineData("12ab", new[] { "1", "2", "ab" })]
    [InlineData("!'s", new[] { "!'", "s" })] // a symbol run takes the apostrophe first
    public void PreTokenizer_SplitsLikeClipsPattern(string text, string[] expected)
    {
        var codePoints = PythonText.ToCodePoints(text);

        var pieces = ClipPreTokenizer.Split(codePoints)
            .Select(piece => PythonText.FromCodePoints(codePoints.AsSpan(piece.Start, piece.Length)));

        Assert.Equal(expected, pieces);
    }
}
