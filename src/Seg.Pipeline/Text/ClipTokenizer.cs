using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Seg.Pipeline.Text;

/// <summary>
/// The CLIP byte-level BPE tokenizer, id for id as OpenAI's <c>clip/simple_tokenizer.py</c> (which SDXL's two
/// tokenizers reproduce): HTML entities unescaped twice, whitespace collapsed, Python lower-casing, CLIP's
/// pre-tokenizing pattern, UTF-8 bytes mapped to printable characters, BPE with "&lt;/w&gt;" on the last symbol of
/// each word. ftfy's text fixes are not applied. Thread-safe.
/// </summary>
/// <remarks>
/// The BPE is written here rather than taken from Microsoft.ML.Tokenizers: its <c>BpeTokenizer</c> (2.0.1, with
/// EndOfWordSuffix "&lt;/w&gt;", given CLIP's own words) splits differently from CLIP on 65 of the 210 reference
/// prompts (e.g. "'s" becomes "'&lt;/w&gt;" "s&lt;/w&gt;" instead of "'s&lt;/w&gt;"), and everything around the BPE
/// (cleaning, lower-casing, the pattern) has to follow Python by hand anyway.
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>The beginning-of-sequence token.</summary>
    public const string StartOfTextToken = "<|startoftext|>";

    /// <summary>The end-of-sequence token; SDXL's first tokenizer pads with it too.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    /// <summary>The sequence length of CLIP's text encoders.</summary>
    public const int DefaultMaxLength = 77;

    private const string WordEndSuffix = "</w>";

    // CLIP and transformers' CLIPTokenizer both read merges.txt as lines[1 : 49152 - 256 - 2 + 1].
    private const int MaxMerges = 49152 - 256 - 2;

    // Prompts repeat the same few thousand words; the limit only keeps a long-running worker's memory bounded.
    private const int WordCacheCapacity = 16384;

    private readonly Dictionary<(int First, int Second), Merge> merges;
    private readonly int[] byteSymbolIds;
    private readonly int[] byteWordEndSymbolIds;
    private readonly ConcurrentDictionary<string, int[]> wordCache = new(StringComparer.Ordinal);

    private ClipTokenizer(
        Dictionary<string, int> vocabulary,
        Dictionary<(int First, int Second), Merge> merges,
        int[] byteSymbolIds,
        int[] byteWordEndSymbolIds,
        int padTokenId)
    {
        this.merges = merges;
        this.byteSymbolIds = byteSymbolIds;
        this.byteWordEndSymbolIds = byteWordEndSymbolIds;
        PadTokenId = padTokenId;
        BosTokenId = vocabulary[StartOfTextToken];
        EosTokenId = vocabulary[EndOfTextToken];
    }

    /// <summary>The id that fills a sequence after <see cref="EosTokenId"/> (49407 for SDXL's tokenizer, 0 for tokenizer_2).</summary>
    public int PadTokenId { get; }

    /// <summary>The id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP's vocabulary).</summary>
    public int BosTokenId { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> (49407 in CLIP's vocabulary).</summary>
    public int EosTokenId { get; }

    /// <summary>
    /// Loads a diffusers / Optimum tokenizer folder (<c>tokenizer/</c> or <c>tokenizer_2/</c>): <c>vocab.json</c>,
    /// <c>merges.txt</c>, and the pad token from <c>tokenizer_config.json</c>, else <c>special_tokens_map.json</c>,
    /// else <c>&lt;|endoftext|&gt;</c>. <c>pad_token</c> may be a string or an object with a <c>content</c> string.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder, vocab.json or merges.txt is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the pad token is not in the vocabulary.</exception>
    public static ClipTokenizer FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder))
        {
            throw new FileNotFoundException($"Tokenizer folder not found: {folder}", folder);
        }
        var vocabPath = RequireFile(Path.Combine(folder, "vocab.json"));
        var mergesPath = RequireFile(Path.Combine(folder, "merges.txt"));
        var (padToken, padTokenSource) = ReadPadToken(folder);
        using var vocabStream = File.OpenRead(vocabPath);
        using var mergesReader = File.OpenText(mergesPath);
        return Load(vocabStream, vocabPath, mergesReader, mergesPath, padToken, padTokenSource);
    }

    /// <summary>Loads a CLIP <c>vocab.json</c> and <c>merges.txt</c>, padding with <paramref name="padToken"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or <paramref name="padToken"/> is not in the vocabulary.</exception>
    public static ClipTokenizer FromFiles(string vocabPath, string mergesPath, string padToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(mergesPath);
        ArgumentException.ThrowIfNullOrEmpty(padToken);
        using var vocabStream = File.OpenRead(RequireFile(vocabPath));
        using var mergesReader = File.OpenText(RequireFile(mergesPath));
        return Load(vocabStream, vocabPath, mergesReader, mergesPath, padToken, "the padToken argument");
    }

    /// <summary>
    /// The CLIP vocabulary embedded in this assembly (the one both SDXL tokenizers use), padding with
    /// <paramref name="padToken"/>: <see cref="EndOfTextToken"/> for SDXL's tokenizer, "!" for tokenizer_2.
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="padToken"/> is not in the vocabulary.</exception>
    public static ClipTokenizer FromEmbeddedVocabulary(string padToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(padToken);
        const string vocabResource = "Seg.Pipeline.clip-tokenizer.vocab.json";
        const string mergesResource = "Seg.Pipeline.clip-tokenizer.merges.txt";
        var assembly = typeof(ClipTokenizer).Assembly;
        using var vocabStream = assembly.GetManifestResourceStream(vocabResource)
            ?? throw new InvalidOperationException($"Embedded resource {vocabResource} is missing from {assembly.GetName().Name}.");
        using var mergesStream = assembly.GetManifestResourceStream(mergesResource)
            ?? throw new InvalidOperationException($"Embedded resource {mergesResource} is missing from {assembly.GetName().Name}.");
        using var mergesReader = new StreamReader(mergesStream, Encoding.UTF8);
        return Load(vocabStream, vocabResource, mergesReader, mergesResource, padToken, "the padToken argument");
    }

    /// <summary>The BPE ids of <paramref name="text"/>, without <c>&lt;|startoftext|&gt;</c> / <c>&lt;|endoftext|&gt;</c>.</summary>
    /// <exception cref="ArgumentException">The text holds a lone surrogate, or a decimal character reference of
    /// more than 4300 digits (CLIP's Python fails on both as well).</exception>
    public IReadOnlyList<int> EncodeIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cleaned = CleanAndLower(text);
        var ids = new List<int>();
        foreach (var (start, length) in ClipPreTokenizer.Split(cleaned))
        {
            ids.AddRange(EncodeWord(PythonText.FromCodePoints(cleaned.AsSpan(start, length))));
        }
        return ids.ToArray();
    }

    /// <summary>
    /// <paramref name="text"/> as a <paramref name="maxLength"/>-id sequence: <see cref="BosTokenId"/>, the first
    /// <paramref name="maxLength"/> - 2 BPE ids, <see cref="EosTokenId"/>, then <see cref="PadTokenId"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 2.</exception>
    public TokenizedPrompt Encode(string text, int maxLength = DefaultMaxLength)
    {
        if (maxLength < 2)
        {
            throw new ArgumentOutOfRangeException(
                nameof(maxLength), maxLength, $"maxLength must be >= 2 to hold BOS and EOS (got {maxLength}).");
        }
        var promptIds = EncodeIds(text);
        var keptCount = Math.Min(promptIds.Count, maxLength - 2);
        var sequence = new int[maxLength];
        sequence[0] = BosTokenId;
        for (var index = 0; index < keptCount; index++)
        {
            sequence[1 + index] = promptIds[index];
        }
        sequence[1 + keptCount] = EosTokenId;
        sequence.AsSpan(2 + keptCount).Fill(PadTokenId);
        return new TokenizedPrompt(sequence, promptIds.Count > keptCount, promptIds.Count);
    }

    // CLIP: whitespace_clean(basic_clean(text)).lower(), with ftfy.fix_text left out.
    internal static int[] CleanAndLower(string text)
    {
        var codePoints = PythonText.ToCodePoints(text);
        codePoints = PythonText.Strip(PythonHtml.Unescape(PythonHtml.Unescape(codePoints)));
        codePoints = PythonText.Strip(PythonText.CollapseWhitespace(codePoints));
        return PythonText.Lower(codePoints);
    }

    private int[] EncodeWord(string word)
    {
        if (wordCache.TryGetValue(word, out var cached))
        {
            return cached;
        }
        int[] ids = word switch
        {
            StartOfTextToken => [BosTokenId],
            EndOfTextToken => [EosTokenId],
            _ => BytePairEncode(Encoding.UTF8.GetBytes(word)),
        };
        if (wordCache.Count >= WordCacheCapacity)
        {
            wordCache.Clear();
        }
        wordCache[word] = ids;
        return ids;
    }

    // simple_tokenizer.bpe on vocabulary ids instead of strings (ids and symbols are one-to-one): repeatedly take
    // the adjacent pair with the lowest merge rank and merge all its occurrences, left to right.
    private int[] BytePairEncode(byte[] utf8)
    {
        var symbols = new List<int>(utf8.Length);
        for (var index = 0; index < utf8.Length - 1; index++)
        {
            symbols.Add(byteSymbolIds[utf8[index]]);
        }
        symbols.Add(byteWordEndSymbolIds[utf8[^1]]);

        var merged = new List<int>(symbols.Count);
        while (symbols.Count > 1)
        {
            var best = new Merge(int.MaxValue, -1);
            var bestPair = (First: -1, Second: -1);
            for (var index = 0; index < symbols.Count - 1; index++)
            {
                var pair = (symbols[index], symbols[index + 1]);
                if (merges.TryGetValue(pair, out var merge) && merge.Rank < best.Rank)
                {
                    best = merge;
                    bestPair = pair;
                }
            }
            if (best.ResultId < 0)
            {
                break;
            }

            merged.Clear();
            for (var index = 0; index < symbols.Count; index++)
            {
                if (index < symbols.Count - 1 && symbols[index] == bestPair.First && symbols[index + 1] == bestPair.Second)
                {
                    merged.Add(best.ResultId);
                    index++;
                }
                else
                {
                    merged.Add(symbols[index]);
                }
            }
            (symbols, merged) = (merged, symbols);
        }
        return [.. symbols];
    }

    private static ClipTokenizer Load(
        Stream vocabJson, string vocabSource, TextReader mergesText, string mergesSource, string padToken, string padTokenSource)
    {
        var vocabulary = ReadVocabulary(vocabJson, vocabSource);
        foreach (var special in new[] { StartOfTextToken, EndOfTextToken })
        {
            if (!vocabulary.ContainsKey(special))
            {
                throw new InvalidDataException($"{vocabSource} must contain the token {special}.");
            }
        }
        if (!vocabulary.TryGetValue(padToken, out var padTokenId))
        {
            throw new InvalidDataException($"pad_token '{padToken}' (from {padTokenSource}) is not in {vocabSource}.");
        }

        var byteEncoder = BytesToUnicode();
        var byteSymbolIds = new int[256];
        var byteWordEndSymbolIds = new int[256];
        for (var value = 0; value < 256; value++)
        {
            var symbol = byteEncoder[value].ToString();
            byteSymbolIds[value] = LookUp(vocabulary, symbol, vocabSource, $"the symbol of byte 0x{value:X2}");
            byteWordEndSymbolIds[value] = LookUp(vocabulary, symbol + WordEndSuffix, vocabSource, $"the word-end symbol of byte 0x{value:X2}");
        }

        var merges = ReadMerges(mergesText, mergesSource, vocabulary, vocabSource);
        return new ClipTokenizer(vocabulary, merges, byteSymbolIds, byteWordEndSymbolIds, padTokenId);
    }

    private static Dictionary<string, int> ReadVocabulary(Stream vocabJson, string vocabSource)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson)
                ?? throw new InvalidDataException($"{vocabSource} must be a JSON object of token -> id (got null).");
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{vocabSource} must be a JSON object of token -> id: {exception.Message}", exception);
        }
    }

    private static Dictionary<(int First, int Second), Merge> ReadMerges(
        TextReader mergesText, string mergesSource, Dictionary<string, int> vocabulary, string vocabSource)
    {
        var merges = new Dictionary<(int First, int Second), Merge>();
        var lineNumber = 0;
        var rank = 0;
        while (mergesText.ReadLine() is { } line && rank < MaxMerges)
        {
            lineNumber++;
            if ((lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) || line.Length == 0)
            {
                continue;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new InvalidDataException($"{mergesSource} line {lineNumber}: a merge must be two symbols separated by a space (got '{line}').");
            }
            var where = $"{mergesSource} line {lineNumber}";
            var first = LookUp(vocabulary, parts[0], vocabSource, $"'{parts[0]}' of {where}");
            var second = LookUp(vocabulary, parts[1], vocabSource, $"'{parts[1]}' of {where}");
            var result = LookUp(vocabulary, parts[0] + parts[1], vocabSource, $"the merge result '{parts[0] + parts[1]}' of {where}");
            // A repeated pair keeps its last rank, as dict(zip(merges, range(...))) does in CLIP.
            merges[(first, second)] = new Merge(rank++, result);
        }
        return merges;
    }

    private static int LookUp(Dictionary<string, int> vocabulary, string token, string vocabSource, string what) =>
        vocabulary.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"{what} is not in {vocabSource}.");

    // CLIP's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes take U+0100.. in order.
    private static char[] BytesToUnicode()
    {
        var map = new char[256];
        var next = 256;
        for (var value = 0; value < 256; value++)
        {
            var printable = value is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[value] = printable ? (char)value : (char)next++;
        }
        return map;
    }

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"Tokenizer file not found: {path}", path);

    private static (string Token, string Source) ReadPadToken(string folder)
    {
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path) && ReadPadTokenField(path) is { } token)
            {
                return (token, path);
            }
        }
        return (EndOfTextToken, "the default");
    }

    private static string? ReadPadTokenField(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {exception.Message}", exception);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("pad_token", out var padToken)
                || padToken.ValueKind == JsonValueKind.Null)
            {
                return null;
            }
            if (padToken.ValueKind == JsonValueKind.String)
            {
                return padToken.GetString();
            }
            if (padToken.ValueKind == JsonValueKind.Object
                && padToken.TryGetProperty("content", out var content)
                && content.ValueKind == JsonValueKind.String)
            {
                return content.GetString();
            }
            throw new InvalidDataException(
                $"{path}: pad_token must be a string or an object with a string \"content\" (got {padToken.ValueKind}).");
        }
    }

    private readonly record struct Merge(int Rank, int ResultId);
}
