using System.Net;
using System.Text;
using System.Text.Json;

namespace Seg.Coordinator.Tests;

/// <summary>A coordinator with a small body limit, so that "too large" needs megabytes, not hundreds of them.</summary>
public sealed class HostileInputFixture : CoordinatorFixture
{
    public const long MaxSweepBytes = 4L << 20;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:MaxSweepBytes"] = MaxSweepBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Requests an attacker (or a broken client) sends: each gets a 4xx that names the field or the rule, writes no row, and
/// leaves the coordinator alive and accepting a good sweep.
/// </summary>
public sealed class HostileInputTests(HostileInputFixture app) : IClassFixture<HostileInputFixture>
{
    private const string Good = "model: m\nprompts: [a cat]\nseeds: [1]\n";

    public static TheoryData<string, string, string, string, string> Sweeps => new()
    {
        // name, media type, body, field, a phrase of the rule
        { "10,000 nested [ in YAML (20 KB)", "application/yaml", "a: " + new string('[', 10_000), "sweep", "at most 16 levels deep" },
        { "8,000 nested [ in YAML", "application/yaml", "model: m\nprompts: " + new string('[', 8_000) + new string(']', 8_000), "sweep", "at most 16 levels deep" },
        { "65 nested [ in YAML", "application/yaml", "model: m\nprompts: " + new string('[', 65) + "a" + new string(']', 65) + "\nseeds: 1\n", "sweep", "at most 16 levels deep" },
        { "17 nested mappings in YAML", "application/yaml", "model: m\ntags: " + string.Concat(Enumerable.Repeat("{a: ", 17)) + "1" + new string('}', 17), "sweep", "levels deep" },
        { "10,000 nested [ in JSON", "application/json", """{"model": "m", "prompts": """ + new string('[', 10_000), "sweep", "depth" },
        { "NUL in a JSON prompt", "application/json", """{"model": "m", "prompts": ["a\u0000cat"], "seeds": [1]}""", "prompts[0]", "NUL" },
        { "NUL in the name", "application/json", """{"name": "x\u0000", "model": "m", "prompts": ["a"], "seeds": [1]}""", "name", "NUL" },
        { "NUL in a YAML prompt", "application/yaml", "model: m\nprompts: [\"a\\0cat\"]\nseeds: [1]\n", "prompts[0]", "NUL" },
        { "NUL in a tag", "application/yaml", "model: m\nprompts: [a]\nseeds: [1]\ntags: {owner: \"x\\0\"}\n", "tags.owner", "NUL" },
        { "NUL in a key", "application/yaml", "model: m\nprompts: [a]\nseeds: [1]\ntags: {\"o\\0\": x}\n", "tags", "NUL" },
        { "NUL in the negative prompt", "application/json", """{"model": "m", "prompts": ["a"], "negative_prompt": "\u0000", "seeds": [1]}""", "negative_prompt", "NUL" },
        { "lone high surrogate in YAML", "application/yaml", "model: m\nprompts: [\"a\\uD800b\"]\nseeds: [1]\n", "sweep", "invalid Unicode surrogates" },
        { "lone low surrogate in YAML", "application/yaml", "model: \"\\uDC00\"\nprompts: [a]\nseeds: [1]\n", "sweep", "invalid Unicode surrogates" },
        { "lone high surrogate in JSON", "application/json", """{"model": "m", "prompts": ["a\ud800b"], "seeds": [1]}""", "prompts[0]", "surrogate unpaired" },
        { "lone low surrogate in a JSON tag", "application/json", """{"model": "m", "prompts": ["a"], "seeds": [1], "tags": {"k": "\udc00"}}""", "tags.k", "surrogate unpaired" },
        { "lone surrogate in a JSON key", "application/json", """{"model": "m", "prompts": ["a"], "seeds": [1], "tags": {"\udc00": "x"}}""", "sweep", "surrogate unpaired" },
        // Tags: a few short labels, not a store (25 MB of tags once made the sweep list 131 MB).
        { "33 tags", "application/yaml", Y("tags: {" + string.Join(", ", Enumerable.Range(0, 33).Select(i => $"t{i}: x")) + "}"), "tags", "at most 32 tags (got 33)" },
        { "10,000 tags", "application/json", J("\"tags\": {" + string.Join(", ", Enumerable.Range(0, 10_000).Select(i => $"\"t{i}\": \"x\"")) + "}"), "tags", "at most 32 tags" },
        { "a 1 MB tag value", "application/yaml", Y("tags: {owner: " + new string('x', 1 << 20) + "}"), "tags.owner", "at most 256 characters" },
        { "a 257-character tag value", "application/json", J("\"tags\": {\"k\": \"" + new string('v', 257) + "\"}"), "tags.k", "at most 256 characters (got 257)" },
        { "a 129-character tag name", "application/yaml", Y("tags: {" + new string('k', 129) + ": x}"), "tags", "tag names of at most 128 characters" },
        { "a blank tag name", "application/yaml", Y("tags: {' ': x}"), "tags", "not blank" },
        { "tags as a list", "application/yaml", Y("tags: [a, b]"), "tags", "" },
        { "a tag value that is a mapping", "application/yaml", Y("tags: {a: {b: c}}"), "tags.a", "" },
        // Model and VAE names stay under the workers' model root.
        { "model ../../etc/passwd", "application/yaml", "model: ../../etc/passwd\nprompts: [a]\nseeds: [1]\n", "model", "no '..' segment" },
        { "model /etc", "application/yaml", "model: /etc\nprompts: [a]\nseeds: [1]\n", "model", "an absolute path" },
        { "model .. alone", "application/yaml", "model: '..'\nprompts: [a]\nseeds: [1]\n", "model", "no '..' segment" },
        { "model with a Windows .. segment", "application/json", """{"model": "a\\..\\..\\b", "prompts": ["a"], "seeds": [1]}""", "model", "no '..' segment" },
        { "model C:\\Windows", "application/json", """{"model": "C:\\Windows", "prompts": ["a"], "seeds": [1]}""", "model", "an absolute path" },
        { "model ~/models", "application/yaml", "model: ~/models\nprompts: [a]\nseeds: [1]\n", "model", "an absolute path" },
        { "model sdxl/../../x", "application/yaml", "model: sdxl/../../x\nprompts: [a]\nseeds: [1]\n", "model", "no '..' segment" },
        { "vae ../vae", "application/yaml", Y("vae: ../vae"), "vae", "no '..' segment" },
        { "vae /var/lib/vae", "application/yaml", Y("vae: /var/lib/vae"), "vae", "an absolute path" },
        { "vae //server/share", "application/json", J("\"vae\": \"//server/share\""), "vae", "an absolute path" },
        { "a 5,000-character model name", "application/yaml", "model: " + new string('m', 5_000) + "\nprompts: [a]\nseeds: [1]\n", "model", "at most" },
        { "an empty model", "application/yaml", "model: ''\nprompts: [a]\nseeds: [1]\n", "model", "is required" },
        { "no model at all", "application/yaml", "prompts: [a]\nseeds: [1]\n", "model", "is required" },
        { "a blank vae", "application/yaml", Y("vae: ' '"), "vae", "must not be empty" },
        // Sizes of the rest of the sweep.
        { "a 201-character name", "application/yaml", Y("name: " + new string('n', 201)), "name", "at most 200 characters (got 201)" },
        { "a 2,001-character prompt", "application/yaml", "model: m\nprompts: [" + new string('p', 2_001) + "]\nseeds: [1]\n", "prompts[0]", "at most 2000 characters" },
        { "a 2,001-character negative prompt", "application/yaml", Y("negative_prompt: " + new string('p', 2_001)), "negative_prompt", "at most 2000 characters" },
        { "10,001 prompts", "application/json", """{"model": "m", "seeds": [1], "prompts": [""" + string.Join(", ", Enumerable.Range(0, 10_001).Select(i => $"\"p{i}\"")) + "]}", "prompts", "at most 10000 prompts" },
        { "2 million tasks", "application/yaml", "model: m\nprompts: [a, b]\nseeds: {start: 0, count: 1000000}\n", "sweep", "at most 1,000,000 tasks" },
        { "a seed range of 2^63 seeds", "application/yaml", "model: m\nprompts: [a]\nseeds: {start: 9223372036854775807, count: 2}\n", "seeds.count", "at most 2^63-1" },
        { "no prompts", "application/yaml", "model: m\nprompts: []\nseeds: [1]\n", "prompts", "at least one prompt" },
        { "no seeds", "application/yaml", "model: m\nprompts: [a]\nseeds: []\n", "seeds", "at least one seed" },
        { "a negative seed", "application/yaml", "model: m\nprompts: [a]\nseeds: [-1]\n", "seeds[0]", "between 0 and 9223372036854775807" },
        { "a seed past 2^63", "application/yaml", "model: m\nprompts: [a]\nseeds: [9223372036854775808]\n", "seeds[0]", "" },
        { "a seed range with count 0", "application/yaml", "model: m\nprompts: [a]\nseeds: {start: 1, count: 0}\n", "seeds.count", "must be > 0" },
        { "a seed that is text", "application/yaml", "model: m\nprompts: [a]\nseeds: [abc]\n", "seeds[0]", "" },
        { "the same prompt twice", "application/yaml", "model: m\nprompts: [a, a]\nseeds: [1]\n", "prompts[1]", "must differ from prompts[0]" },
        // Values out of their range.
        { "steps 0", "application/yaml", Y("steps: [0]"), "steps[0]", "between 1 and 1000" },
        { "steps 1,000,000", "application/yaml", Y("steps: 1000000"), "steps[0]", "between 1 and 1000" },
        { "steps 2.5", "application/yaml", Y("steps: [2.5]"), "steps[0]", "" },
        { "steps past int", "application/json", J("\"steps\": [99999999999999]"), "steps[0]", "" },
        { "size 100000x100000", "application/yaml", Y("size: [100000x100000]"), "size[0]", "between 64 and 4096" },
        { "size 0x0", "application/yaml", Y("size: [0x0]"), "size[0]", "between 64 and 4096" },
        { "size 1023x1024", "application/yaml", Y("size: [1023x1024]"), "size[0]", "multiple of 8" },
        { "size as a word", "application/yaml", Y("size: [big]"), "size[0]", "WIDTHxHEIGHT" },
        { "size -512x512", "application/yaml", Y("size: ['-512x512']"), "size[0]", "" },
        { "an unknown scheduler", "application/yaml", Y("scheduler: [heun]"), "scheduler[0]", "must be one of" },
        { "a scheduler with a NUL", "application/json", J("\"scheduler\": [\"euler\\u0000\"]"), "scheduler[0]", "NUL" },
        { "a negative guidance scale", "application/yaml", Y("guidance_scale: [-1]"), "guidance_scale[0]", "must be >= 0" },
        { "guidance scale NaN", "application/yaml", Y("guidance_scale: [.nan]"), "guidance_scale[0]", "" },
        { "guidance scale infinity", "application/yaml", Y("guidance_scale: [.inf]"), "guidance_scale[0]", "" },
        { "guidance rescale 2", "application/yaml", Y("guidance_rescale: 2"), "guidance_rescale", "between 0 and 1" },
        { "a negative SEG scale", "application/yaml", Y("seg_scale: [-3]"), "seg_scale[0]", "must be >= 0" },
        { "SEG blur sigma 0", "application/yaml", Y("seg_blur_sigma: [0]"), "seg_blur_sigma[0]", "must be > 0" },
        { "SEG blur sigma as a word", "application/yaml", Y("seg_blur_sigma: [wide]"), "seg_blur_sigma[0]", "" },
        { "unknown SEG layers", "application/yaml", Y("seg_layers: ['mid; drop table']"), "seg_layers[0]", "unknown group" },
        { "a SEG layer index of 10 digits", "application/yaml", Y("seg_layers: [d1234567890]"), "seg_layers[0]", "unknown group" },
        { "a reversed SEG window", "application/yaml", Y("seg_window: [0.9, 0.1]"), "seg_window", "0 <= start < stop <= 1" },
        { "a SEG window of three", "application/yaml", Y("seg_window: [0, 0.5, 1]"), "seg_window", "" },
        { "a priority past int", "application/yaml", Y("priority: 99999999999"), "priority", "" },
        // Shapes that are not a sweep.
        { "an unknown field", "application/yaml", Y("drop_table: users"), "drop_table", "" },
        { "a JSON array for a sweep", "application/json", "[1, 2, 3]", "sweep", "" },
        { "a JSON string for a sweep", "application/json", "\"model\"", "sweep", "" },
        { "an empty body", "application/yaml", "", "sweep", "" },
        { "YAML that does not parse", "application/yaml", "model: [unclosed\nprompts: {", "sweep", "" },
        { "JSON that does not parse", "application/json", "{\"model\": ", "sweep", "" },
        { "a YAML alias bomb", "application/yaml", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", "a", "is not a known field" },
        { "prompts as a mapping", "application/yaml", "model: m\nprompts: {a: b}\nseeds: [1]\n", "prompts", "" },
        { "a model that is a list", "application/yaml", "model: [a, b]\nprompts: [a]\nseeds: [1]\n", "model", "" },
        { "the model key twice", "application/json", """{"model": "m", "model": "n", "prompts": ["a"], "seeds": [1]}""", "sweep", "Duplicate property 'model'" },
    };

    /// <summary>A good sweep (as YAML) with one more line.</summary>
    private static string Y(string line) => Good + line + "\n";

    /// <summary>A good sweep (as JSON) with one more member.</summary>
    private static string J(string member) => """{"model": "m", "prompts": ["a cat"], "seeds": [1], """ + member + "}";

    [Theory]
    [MemberData(nameof(Sweeps))]
    public async Task A_hostile_sweep_is_400_naming_the_field_and_the_rule_and_writes_nothing(string name, string mediaType, string body, string field, string rule)
    {
        var before = await app.CountRowsAsync();
        using var response = await app.PostSweepAsync(body, mediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {text}");
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var rules), $"{name}: no error for '{field}' in {errors}");
        Assert.Contains(rules.EnumerateArray(), r => r.GetString()!.Contains(rule, StringComparison.Ordinal));
        await AssertNothingWrittenAndAliveAsync(before);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_whether_its_length_is_declared_or_not()
    {
        var before = await app.CountRowsAsync();
        var big = "model: m\nprompts: [a]\nseeds: [1]\nname: " + new string('x', (int)HostileInputFixture.MaxSweepBytes) + "\n";
        using (var declared = await app.PostSweepAsync(big))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
            Assert.Contains("Coordinator:MaxSweepBytes", await declared.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Chunked: no Content-Length, so the limit must stop the read itself.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/sweeps")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
        };
        chunked.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/yaml");
        chunked.Headers.TransferEncodingChunked = true;
        using var response = await app.Client.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertNothingWrittenAndAliveAsync(before);
    }

    [Theory]
    [InlineData("/api/sweeps?page=2147483647", "page")]
    [InlineData("/api/sweeps?page=abc", "page")]
    [InlineData("/api/sweeps?page=-1", "page")]
    [InlineData("/api/sweeps?page=1e3", "page")]
    [InlineData("/api/sweeps?pageSize=abc", "pageSize")]
    [InlineData("/api/sweeps?pageSize=0", "pageSize")]
    [InlineData("/api/sweeps?pageSize=99999999999999999999", "pageSize")]
    [InlineData("/api/sweeps/00000000-0000-0000-0000-000000000001/images?page=abc", "page")]
    [InlineData("/api/sweeps/00000000-0000-0000-0000-000000000001/images?page=2147483647", "page")]
    public async Task A_bad_paging_parameter_is_400_naming_it(string path, string field)
    {
        var before = await app.CountRowsAsync();
        using var response = await app.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var rules), $"{path}: no error for '{field}' in {errors}");
        Assert.Contains("must be a whole number between", rules[0].GetString(), StringComparison.Ordinal);
        await AssertNothingWrittenAndAliveAsync(before);
    }

    /// <summary>No row written since <paramref name="before"/>; the coordinator is alive and accepts a good sweep.</summary>
    private async Task AssertNothingWrittenAndAliveAsync((int, int, int, int) before)
    {
        Assert.Equal(before, await app.CountRowsAsync());
        using var live = await app.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        await app.SubmitAsync(Good.Replace("a cat", $"a cat {Guid.NewGuid():N}", StringComparison.Ordinal));
    }
}
