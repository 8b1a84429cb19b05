using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Sweeps;

namespace Seg.Coordinator.Tests.Scenarios;

/// <summary>A database of its own that stays empty: no valid sweep is kept in it.</summary>
public sealed class SmallLimitsFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:SweepLimits:MaxTasksPerSweep"] = "1000" };
}

/// <summary>
/// Bad sweeps: 400 with field-level errors (or the submitter's refusal), and nothing written to any table nor sent. SQLite
/// enforces no column lengths, so there the submitter's own checks are all that keeps a long model name or idempotency key out.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class InvalidSweepScenarios<TDatabase>(SmallLimitsFixture<TDatabase> app) : IClassFixture<SmallLimitsFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    private const string Valid = "model: tiny-sdxl\nprompts: [a cat]\nseeds: [1, 2]\n";

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // name, media type, body, field expected among the errors
        { "empty prompts", "application/yaml", "model: m\nprompts: []\nseeds: [1]\n", "prompts" },
        { "no seeds", "application/yaml", "model: m\nprompts: [a cat]\n", "seeds" },
        { "empty seed range", "text/yaml", "model: m\nprompts: [a cat]\nseeds: {start: 5, count: 0}\n", "seeds.count" },
        { "sigma zero", "application/yaml", Valid + "seg_blur_sigma: [2, 0]\n", "seg_blur_sigma[1]" },
        { "sigma negative", "application/json", """{"model": "m", "prompts": ["a"], "seeds": [1], "seg_blur_sigma": -1}""", "seg_blur_sigma[0]" },
        { "scale negative", "application/yaml", Valid + "seg_scale: [-1]\n", "seg_scale[0]" },
        { "cfg negative", "application/x-yaml", Valid + "guidance_scale: [5, -0.5]\n", "guidance_scale[1]" },
        { "size not a multiple of 8", "application/yaml", Valid + "size: [1024x1024, 1001x1024]\n", "size[1]" },
        { "unknown scheduler", "application/yaml", Valid + "scheduler: heun\n", "scheduler[0]" },
        { "unknown layer group", "application/yaml", Valid + "seg_layers: [mid, side]\n", "seg_layers[1]" },
        { "too many tasks", "application/yaml", "model: m\nprompts: [a, b]\nseeds: {start: 0, count: 501}\n", "sweep" },
        { "malformed yaml", "application/yaml", "model: m\nprompts: [a cat\nseeds: 1\n", "sweep" },
        { "malformed json", "application/json", """{"model": "m", "prompts": ["a cat"], """, "sweep" },
        { "unknown field", "application/json", """{"model": "m", "prompts": ["a"], "seeds": [1], "sigma": 3}""", "sigma" },
        { "empty body", "application/yaml", "", "sweep" },
        { "model too long for storage", "application/yaml", $"model: {new string('m', 201)}\nprompts: [a]\nseeds: 1\n", "model" },
    };

    public static TheoryData<string, string, string?, string> SubmitterCases => new()
    {
        // name, body, idempotency key, field expected among the errors
        { "empty prompts", "model: m\nprompts: []\nseeds: [1]\n", null, "prompts" },
        { "sigma zero", Valid + "seg_blur_sigma: [2, 0]\n", null, "seg_blur_sigma[1]" },
        { "unknown scheduler", Valid + "scheduler: heun\n", null, "scheduler[0]" },
        { "too many tasks for the configured limit", "model: m\nprompts: [a, b]\nseeds: {start: 0, count: 501}\n", null, "sweep" },
        { "malformed yaml", "model: m\nprompts: [a cat\nseeds: 1\n", null, "sweep" },
        { "malformed json", """{"model": "m", "prompts": ["a cat"], """, null, "sweep" },
        { "model too long for storage", $"model: {new string('m', 201)}\nprompts: [a]\nseeds: 1\n", null, "model" },
        { "idempotency key too long", Valid, new string('k', 201), "Idempotency-Key" },
        { "blank idempotency key", Valid, "  ", "Idempotency-Key" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Invalid_sweep_is_400_with_the_field_and_writes_nothing(string name, string mediaType, string body, string field)
    {
        using var response = await app.PostSweepAsync(body, mediaType, idempotencyKey: "invalid-" + name);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(text).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var rules), $"{name}: no error for '{field}' in {errors}");
        Assert.All(rules.EnumerateArray(), rule => Assert.False(string.IsNullOrWhiteSpace(rule.GetString())));
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }

    [Theory]
    [MemberData(nameof(SubmitterCases))]
    public async Task Invalid_sweep_is_refused_with_the_field_and_writes_nothing(string name, string body, string? idempotencyKey, string field)
    {
        var submission = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(body, null, idempotencyKey, "scenario-test", CancellationToken.None));

        Assert.False(submission.Succeeded, name);
        Assert.Null(submission.Stored);
        var error = Assert.Single(submission.Errors, e => e.Field == field);
        Assert.False(string.IsNullOrWhiteSpace(error.Rule));
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
        await app.Queue.AssertEmptyAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_definition_that_breaks_a_rule_throws_naming_the_field_and_writes_nothing()
    {
        var longModel = SweepParser.ParseYaml($"model: {new string('m', 201)}\nprompts: [a]\nseeds: 1\n").Definition!;
        var tooMany = SweepParser.ParseYaml("model: m\nprompts: [a, b]\nseeds: {start: 0, count: 501}\n").Definition!;

        var model = await Assert.ThrowsAsync<ArgumentException>(() =>
            app.WithAsync<SweepSubmitter, Storage.Tasks.SweepInsertResult>(s => s.SubmitAsync(longModel, null, "scenario-test", CancellationToken.None)));
        Assert.Contains("model must be at most 200 characters (got 201)", model.Message, StringComparison.Ordinal);
        var count = await Assert.ThrowsAsync<ArgumentException>(() =>
            app.WithAsync<SweepSubmitter, Storage.Tasks.SweepInsertResult>(s => s.SubmitAsync(tooMany, null, "scenario-test", CancellationToken.None)));
        Assert.Contains("at most 1,000 tasks (got 1,002", count.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }

    [Fact]
    public async Task The_task_limit_comes_from_configuration()
    {
        using var response = await app.PostSweepAsync("model: m\nprompts: [a, b]\nseeds: {start: 0, count: 501}\n");
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Contains("at most 1,000 tasks (got 1,002", errors.GetProperty("sweep")[0].GetString(), StringComparison.Ordinal);
        using var fits = await app.PostSweepAsync("model: m\nprompts: [a, b]\nseeds: {start: 0, count: 500}\n");
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
        var id = JsonDocument.Parse(await fits.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        using var cancel = await app.PostAsync($"/api/sweeps/{id}/cancel");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        // The other tests expect empty tables and an empty queue; after the cancel no message of the sweep is sent.
        await app.WithDbAsync(db => db.Sweeps.Where(s => s.Id == id).ExecuteDeleteAsync());
        await app.Queue.PurgeAsync();
    }

    [Fact]
    public async Task Every_broken_rule_is_reported_at_once()
    {
        const string body = """{"model": "m", "prompts": [], "seeds": [], "seg_blur_sigma": [0], "seg_scale": -2, "size": "1001x1000", "scheduler": "foo"}""";
        using var response = await app.PostSweepAsync(body, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        var fields = errors.EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "prompts", "seeds", "seg_blur_sigma[0]", "seg_scale[0]", "size[0]", "scheduler[0]" }, fields);
        Assert.Contains("got 'foo'", errors.GetProperty("scheduler[0]")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }

    [Fact]
    public async Task Unsupported_media_type_is_415_and_writes_nothing()
    {
        using var response = await app.PostSweepAsync("<sweep/>", "application/xml");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }

    [Fact]
    public async Task Too_long_idempotency_key_is_400()
    {
        using var response = await app.PostSweepAsync(Valid, idempotencyKey: new string('k', 201));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("Idempotency-Key", out _), errors.ToString());
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }
}

public sealed class InvalidSweepOnPostgres(SmallLimitsFixture<PostgresDatabase> app) : InvalidSweepScenarios<PostgresDatabase>(app);

public sealed class InvalidSweepOnSqlite(SmallLimitsFixture<SqliteDatabase> app) : InvalidSweepScenarios<SqliteDatabase>(app);

/// <summary>The submitter's storage rules on their own (no database).</summary>
public sealed class StorableSweepRulesTests
{
    [Fact]
    public void Storage_rules_accept_what_fits()
    {
        var definition = SweepParser.ParseYaml($"model: {new string('m', 200)}\nprompts: [a]\nseeds: 1\n").Definition!;
        Assert.Empty(SweepSubmitter.CheckStorable(definition, new string('k', 200)));
        Assert.Empty(SweepSubmitter.CheckStorable(definition, null));
        Assert.Null(SweepSubmitter.CheckIdempotencyKey("k"));
        Assert.Equal("Idempotency-Key", SweepSubmitter.CheckIdempotencyKey("")?.Field);
    }
}
