using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Sweeps;
using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Scenarios;

/// <summary>Submitting, reading and listing sweeps, on each database.</summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class SubmitScenarios<TDatabase>(DefaultFixture<TDatabase> app) : IClassFixture<DefaultFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    private const string Yaml = """
        name: cats and dogs
        tags: {project: tests}
        model: tiny-sdxl
        prompts: [a photo of a cat, a photo of a dog]
        seeds: {start: 100, count: 3}
        seg_blur_sigma: [1, inf]
        steps: 4
        size: 512x512
        priority: 3
        """;

    [Fact]
    public async Task Yaml_sweep_is_stored_with_one_task_per_image_and_answered_201()
    {
        using var response = await app.PostSweepAsync(Yaml);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var summary = JsonDocument.Parse(text).RootElement;
        var id = summary.GetProperty("id").GetGuid();
        Assert.Equal($"/api/sweeps/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("cats and dogs", summary.GetProperty("name").GetString());
        Assert.Equal(12, summary.GetProperty("taskCount").GetInt32()); // 2 prompts x 3 seeds x 2 sigmas
        Assert.Equal("tests", summary.GetProperty("tags").GetProperty("project").GetString());
        Assert.Equal(0, summary.GetProperty("progress").GetDouble());

        var sweep = await app.WithDbAsync(db => db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == id));
        Assert.Equal(("cats and dogs", 3, 12, 3), (sweep.Name, sweep.MaxAttempts, sweep.TaskCount, sweep.Priority));
        var tasks = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == id).OrderBy(t => t.TaskIndex).ToListAsync());
        Assert.Equal(Enumerable.Range(0, 12), tasks.Select(t => t.TaskIndex));

        // Each row is a task of the stored definition: its stable id, and the parameters that the dispatcher expands
        // again from the stored definition (rows keep no copy) are those of the submitted text.
        var definition = SweepParser.ParseYaml(Yaml).Definition!;
        var stored = SweepParser.ParseJson(sweep.DefinitionJson).Definition!;
        foreach (var task in tasks)
        {
            Assert.Equal(TaskIds.For(id, task.TaskIndex), task.Id);
            Assert.Equal(SweepExpander.TaskAt(id, definition, task.TaskIndex), SweepExpander.TaskAt(id, stored, task.TaskIndex));
            Assert.Equal(("tiny-sdxl", 3), (task.Model, task.Priority));
        }

        Assert.Equal(100, SweepExpander.TaskAt(id, stored, 0).Parameters.Seed);
        Assert.Equal(double.PositiveInfinity, SweepExpander.TaskAt(id, stored, 1).Parameters.SegBlurSigma);

        // The summary counts what the database holds, whatever the dispatcher has done meanwhile.
        var read = await app.GetJsonAsync($"/api/sweeps/{id}");
        var counts = read.GetProperty("tasks");
        var total = new[] { "pending", "queued", "running", "succeeded", "failed", "cancelled" }.Sum(s => counts.GetProperty(s).GetInt32());
        Assert.Equal(12, total);
        Assert.Equal("tiny-sdxl", read.GetProperty("definition").GetProperty("model").GetString());
        Assert.Empty(read.GetProperty("stuckTasks").EnumerateArray());
        var detail = await app.SummaryAsync(id, detail: true);
        Assert.Equal("tests", detail.Tags["project"]);
        Assert.Equal("tiny-sdxl", detail.Definition!.Value.GetProperty("model").GetString());
        Assert.Empty(detail.StuckTasks!);
        Assert.Equal(0, detail.Progress);
        Assert.Equal(0, detail.GpuSeconds);
        Assert.Equal(sweep.CreatedAt, detail.CreatedAt);
    }

    [Fact]
    public async Task Json_sweep_is_stored_and_its_priority_copied_to_the_tasks()
    {
        const string json = """{"model": "tiny-sdxl", "prompts": "a red cube", "seeds": [1, 2], "seg_scale": [0, 3], "priority": 7}""";
        using var response = await app.PostSweepAsync(json, "application/json");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();

        var tasks = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == id).ToListAsync());
        Assert.Equal(4, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(7, t.Priority));
        var sweep = await app.WithDbAsync(db => db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == id));
        Assert.Equal(7, sweep.Priority);
        Assert.Equal(id.ToString(), sweep.Name); // no name given
    }

    [Fact]
    public async Task Same_idempotency_key_twice_stores_one_sweep_and_answers_200_with_the_first()
    {
        var key = "submit-" + Guid.NewGuid();
        using var first = await app.PostSweepAsync(Yaml, idempotencyKey: key);
        using var second = await app.PostSweepAsync(Yaml, idempotencyKey: key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var firstId = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        var secondAnswer = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(firstId, secondAnswer.GetProperty("id").GetGuid());
        Assert.Equal(12, secondAnswer.GetProperty("taskCount").GetInt32());
        Assert.Equal($"/api/sweeps/{firstId}", second.Headers.Location?.OriginalString);
        Assert.Equal(1, await app.WithDbAsync(db => db.Sweeps.CountAsync(s => s.IdempotencyKey == key)));
        Assert.Equal(12, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == firstId)));

        // The submitter itself says which call created the sweep.
        var again = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(Yaml, null, key, "scenario-test", CancellationToken.None));
        Assert.True(again.Succeeded);
        Assert.Empty(again.Errors);
        Assert.False(again.Stored!.Created);
        Assert.Equal((firstId, 12), (again.Stored.SweepId, again.Stored.TaskCount));
    }

    [Fact]
    public async Task Sweeps_are_listed_newest_first_paged_and_filtered_by_status()
    {
        var older = await app.SubmitAsync("model: m\nprompts: older\nseeds: 1\n");
        var newer = await app.SubmitAsync("model: m\nprompts: newer\nseeds: 1\n");

        var page = await app.GetJsonAsync("/api/sweeps?page=1&pageSize=2");
        var ids = page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetGuid()).ToList();
        Assert.Equal([newer, older], ids);
        Assert.Equal(2, page.GetProperty("pageSize").GetInt32());
        Assert.True(page.GetProperty("total").GetInt32() >= 2);

        var second = await app.GetJsonAsync("/api/sweeps?page=2&pageSize=1");
        Assert.Equal(older, Assert.Single(second.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());

        using var cancel = await app.PostAsync($"/api/sweeps/{older}/cancel");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        // No other test of this class cancels a sweep.
        var cancelled = await app.GetJsonAsync("/api/sweeps?status=cancelled");
        Assert.Equal([older], cancelled.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetGuid()));
        Assert.Equal(1, cancelled.GetProperty("total").GetInt32());
        Assert.All(cancelled.GetProperty("items").EnumerateArray(), s => Assert.Equal("cancelled", s.GetProperty("status").GetString()));
        Assert.Equal(SweepStatus.Cancelled, await app.WithAsync<SweepQueries, SweepStatus?>(q => q.StatusAsync(older, CancellationToken.None)));
    }

    [Theory]
    [InlineData("/api/sweeps?status=finished", "status")]
    [InlineData("/api/sweeps?page=0", "page")]
    [InlineData("/api/sweeps?pageSize=1000", "pageSize")]
    public async Task Bad_list_queries_are_400_with_the_field(string path, string field)
    {
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Unknown_sweep_is_404_problem_details()
    {
        var id = Guid.NewGuid();
        var requests = new[]
        {
            ("GET", $"/api/sweeps/{id}"), ("GET", $"/api/sweeps/{id}/images"), ("POST", $"/api/sweeps/{id}/cancel"),
            ("POST", $"/api/sweeps/{id}/pause"), ("POST", $"/api/sweeps/{id}/requeue-failed"),
        };
        foreach (var (method, path) in requests)
        {
            using var response = await app.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(id.ToString(), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Null(await app.WithAsync<SweepQueries, SweepStatus?>(q => q.StatusAsync(id, CancellationToken.None)));
    }
}

public sealed class SubmitOnPostgres(DefaultFixture<PostgresDatabase> app) : SubmitScenarios<PostgresDatabase>(app);

public sealed class SubmitOnSqlite(DefaultFixture<SqliteDatabase> app) : SubmitScenarios<SqliteDatabase>(app);
