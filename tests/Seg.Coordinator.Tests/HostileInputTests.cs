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
    };

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
