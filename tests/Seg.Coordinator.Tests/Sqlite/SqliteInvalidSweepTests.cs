using Seg.Contracts.Sweeps;
using Seg.Coordinator.Sweeps;

namespace Seg.Coordinator.Tests.Sqlite;

/// <summary>A database of its own that stays empty: no valid sweep is ever kept in it.</summary>
public sealed class EmptySqliteFixture : SqliteCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:SweepLimits:MaxTasksPerSweep"] = "1000" };
}

/// <summary>
/// Bad sweeps are refused with field-level errors and nothing is written. SQLite enforces no column lengths, so the
/// submitter's own checks are all that keeps a long model name or idempotency key out.
/// </summary>
public sealed class SqliteInvalidSweepTests(EmptySqliteFixture app) : IClassFixture<EmptySqliteFixture>
{
    private const string Valid = "model: tiny-sdxl\nprompts: [a cat]\nseeds: [1, 2]\n";

    public static TheoryData<string, string, string?, string> Cases => new()
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
    public async Task Invalid_sweep_is_refused_with_the_field_and_writes_nothing(string name, string body, string? idempotencyKey, string field)
    {
        var submission = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(body, null, idempotencyKey, "sqlite-test", CancellationToken.None));

        Assert.False(submission.Succeeded, name);
        Assert.Null(submission.Stored);
        var error = Assert.Single(submission.Errors, e => e.Field == field);
        Assert.False(string.IsNullOrWhiteSpace(error.Rule));
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
        await app.Inbox.AssertEmptyAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_definition_that_breaks_a_rule_throws_naming_the_field_and_writes_nothing()
    {
        var longModel = SweepParser.ParseYaml($"model: {new string('m', 201)}\nprompts: [a]\nseeds: 1\n").Definition!;
        var tooMany = SweepParser.ParseYaml("model: m\nprompts: [a, b]\nseeds: {start: 0, count: 501}\n").Definition!;

        var model = await Assert.ThrowsAsync<ArgumentException>(() =>
            app.WithAsync<SweepSubmitter, Storage.Tasks.SweepInsertResult>(s => s.SubmitAsync(longModel, null, "sqlite-test", CancellationToken.None)));
        Assert.Contains("model must be at most 200 characters (got 201)", model.Message, StringComparison.Ordinal);
        var count = await Assert.ThrowsAsync<ArgumentException>(() =>
            app.WithAsync<SweepSubmitter, Storage.Tasks.SweepInsertResult>(s => s.SubmitAsync(tooMany, null, "sqlite-test", CancellationToken.None)));
        Assert.Contains("at most 1,000 tasks (got 1,002", count.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0, 0, 0), await app.CountRowsAsync());
    }

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
