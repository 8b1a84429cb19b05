using System.Text.Json;
using Seg.Pipeline.Text;

namespace Seg.Pipeline.Tests.Text;

/// <summary>Loads SDXL's two tokenizers once: the same CLIP vocabulary, padded with EOS and with "!".</summary>
public sealed class ClipTokenizerFixture
{
    public ClipTokenizer PadWithEndOfText { get; } = ClipTokenizer.FromFiles(
        ClipTokenizerTests.VocabPath, ClipTokenizerTests.MergesPath, ClipTokenizer.EndOfTextToken);

    public ClipTokenizer PadWithExclamation { get; } = ClipTokenizer.FromFiles(
        ClipTokenizerTests.VocabPath, ClipTokenizerTests.MergesPath, "!");
}

public sealed class ClipTokenizerTests(ClipTokenizerFixture tokenizers) : IClassFixture<ClipTokenizerFixture>
{
    internal static readonly string VocabPath = Path.Combine(TestPaths.Shared, "clip-tokenizer", "vocab.json");
    internal static readonly string MergesPath = Path.Combine(TestPaths.Shared, "clip-tokenizer", "merges.txt");

    private static readonly Lazy<Dictionary<int, JsonElement>> ReferencePromptsById = new(LoadReferencePrompts);

    public static TheoryData<int> ReferencePrompts() => new(ReferencePromptsById.Value.Keys);

    [Theory]
    [InlineData(true, 49407)]
    [InlineData(false, 0)]
    public void APhotoOfACat_GivesTheDesignIdsThenPadding(bool padWithEndOfText, int expectedPadId)
    {
        var tokenizer = padWithEndOfText ? tokenizers.PadWithEndOfText : tokenizers.PadWithExclamation;

        var prompt = tokenizer.Encode("a photo of a cat");

        int[] expectedStart = [49406, 320, 1125, 539, 320, 2368, 49407];
        Assert.Equal(77, prompt.Ids.Length);
        Assert.Equal(expectedStart, prompt.Ids[..7]);
        Assert.All(prompt.Ids[7..], id => Assert.Equal(expectedPadId, id));
        Assert.False(prompt.Truncated);
        Assert.Equal(5, prompt.PromptTokenCount);
        Assert.Equal(expectedPadId, tokenizer.PadTokenId);
        Assert.Equal(49406, tokenizer.BosTokenId);
        Assert.Equal(49407, tokenizer.EosTokenId);
    }

    [Theory]
    [MemberData(nameof(ReferencePrompts))]
    public void ReferencePrompt_MatchesOpenAiClip(int promptId)
    {
        var reference = ReferencePromptsById.Value[promptId];
        var text = reference.GetProperty("text").GetString()!;

        Assert.Equal(Ints(reference, "ids"), tokenizers.PadWithEndOfText.EncodeIds(text));

        var first = tokenizers.PadWithEndOfText.Encode(text);
        var second = tokenizers.PadWithExclamation.Encode(text);
        Assert.Equal(Ints(reference, "sdxl_tokenizer1_77"), first.Ids);
        Assert.Equal(Ints(reference, "sdxl_tokenizer2_77"), second.Ids);
        Assert.Equal(reference.GetProperty("truncated").GetBoolean(), first.Truncated);
        Assert.Equal(reference.GetProperty("truncated").GetBoolean(), second.Truncated);
        Assert.Equal(reference.GetProperty("n_ids").GetInt32(), first.PromptTokenCount);
    }

    [Fact]
    public void ReferencePrompts_IncludeEveryKindTheTokenizerMustHandle()
    {
        // Guards the Theory above against an emptied or reshaped reference file.
        var prompts = ReferencePromptsById.Value.Values.ToList();
        Assert.Equal(210, prompts.Count);
        Assert.Contains(prompts, p => p.GetProperty("html_unescape_changes").GetBoolean());
        Assert.Contains(prompts, p => p.GetProperty("truncated").GetBoolean());
        Assert.Contains(prompts, p => p.GetProperty("category").GetString() == "emoji");
    }

    [Fact]
    public void Encode_CutsAtMaxLengthAndCountsTheWholePrompt()
    {
        var prompt = tokenizers.PadWithExclamation.Encode("a photo of a cat", maxLength: 5);

        Assert.Equal([49406, 320, 1125, 539, 49407], prompt.Ids);
        Assert.True(prompt.Truncated);
        Assert.Equal(5, prompt.PromptTokenCount);
    }

    [Fact]
    public void Encode_RejectsAMaxLengthWithoutRoomForBosAndEos()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizers.PadWithEndOfText.Encode("cat", maxLength: 1));
        Assert.Contains("maxLength must be >= 2", error.Message);
    }

    [Fact]
    public void EncodeIds_RejectsALoneSurrogateAsPythonsUtf8EncodingDoes()
    {
        var error = Assert.Throws<ArgumentException>(() => tokenizers.PadWithEndOfText.EncodeIds("cat \uD83D"));
        Assert.Contains("lone surrogate", error.Message);
    }

    [Fact]
    public void FromEmbeddedVocabulary_MatchesTheSharedFiles()
    {
        var embedded = ClipTokenizer.FromEmbeddedVocabulary("!");

        Assert.Equal(tokenizers.PadWithExclamation.Encode("a photo of a cat, 4k").Ids, embedded.Encode("a photo of a cat, 4k").Ids);
        Assert.Equal(0, embedded.PadTokenId);
    }

    [Theory]
    [InlineData("""{"pad_token": "!"}""", 0)]
    [InlineData("""{"pad_token": {"__type": "AddedToken", "content": "!", "lstrip": false}}""", 0)]
    [InlineData("""{"pad_token": "<|endoftext|>"}""", 49407)]
    [InlineData("""{"model_max_length": 77}""", 49407)]
    public void FromFolder_ReadsThePadTokenFromTokenizerConfig(string tokenizerConfig, int expectedPadId)
    {
        using var folder = TokenizerFolder.Create(tokenizerConfig: tokenizerConfig);

        var tokenizer = ClipTokenizer.FromFolder(folder.Path);

        Assert.Equal(expectedPadId, tokenizer.PadTokenId);
        Assert.Equal(expectedPadId, tokenizer.Encode("a cat").Ids[^1]);
    }

    [Fact]
    public void FromFolder_FallsBackToSpecialTokensMap()
    {
        using var folder = TokenizerFolder.Create(specialTokensMap: """{"pad_token": {"content": "!"}}""");

        Assert.Equal(0, ClipTokenizer.FromFolder(folder.Path).PadTokenId);
    }

    [Fact]
    public void FromFolder_NamesAMissingFolder()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-tokenizer-{Guid.NewGuid():N}");

        var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(missing));

        Assert.Contains(missing, error.Message);
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    public void FromFolder_NamesAMissingFile(string missingFile)
    {
        using var folder = TokenizerFolder.Create();
        var missingPath = Path.Combine(folder.Path, missingFile);
        File.Delete(missingPath);

        var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(folder.Path));

        Assert.Contains(missingPath, error.Message);
        Assert.Equal(missingPath, error.FileName);
    }

    [Fact]
    public void FromFolder_RejectsAPadTokenOutsideTheVocabulary()
    {
        using var folder = TokenizerFolder.Create(tokenizerConfig: """{"pad_token": "<pad>"}""");

        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(folder.Path));

        Assert.Contains("pad_token '<pad>'", error.Message);
        Assert.Contains("tokenizer_config.json", error.Message);
    }

    [Fact]
    public void FromFolder_RejectsAMalformedPadToken()
    {
        using var folder = TokenizerFolder.Create(tokenizerConfig: """{"pad_token": 7}""");

        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(folder.Path));

        Assert.Contains("pad_token must be a string or an object", error.Message);
    }

    private static int[] Ints(JsonElement element, string property) =>
        element.GetProperty(property).EnumerateArray().Select(id => id.GetInt32()).ToArray();

    private static Dictionary<int, JsonElement> LoadReferencePrompts()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("clip_prompts.json")));
        return document.RootElement.GetProperty("prompts").EnumerateArray()
            .ToDictionary(prompt => prompt.GetProperty("id").GetInt32(), prompt => prompt.Clone());
    }

    /// <summary>A temporary diffusers-style tokenizer folder with the shared CLIP vocabulary.</summary>
    private sealed class TokenizerFolder : IDisposable
    {
        private TokenizerFolder(string path) => Path = path;

        public string Path { get; }

        public static TokenizerFolder Create(string? tokenizerConfig = null, string? specialTokensMap = null)
        {
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"clip-tokenizer-test-{Guid.NewGuid():N}");
            Directory.CreateDirectory(path);
            File.Copy(VocabPath, System.IO.Path.Combine(path, "vocab.json"));
            File.Copy(MergesPath, System.IO.Path.Combine(path, "merges.txt"));
            if (tokenizerConfig is not null)
            {
                File.WriteAllText(System.IO.Path.Combine(path, "tokenizer_config.json"), tokenizerConfig);
            }
            if (specialTokensMap is not null)
            {
                File.WriteAllText(System.IO.Path.Combine(path, "special_tokens_map.json"), specialTokensMap);
            }
            return new TokenizerFolder(path);
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
