using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Sweeps;
using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Sqlite;

/// <summary>Submitting, reading and listing sweeps on SQLite, through the services the standalone mode uses.</summary>
public sealed class SqliteSubmitTests(DefaultSqliteFixture app) : IClassFixture<DefaultSqliteFixture>
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
    public async Task Sweep_is_stored_with_one_task_per_image_and_read_back()
    {
        var submission = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(Yaml, "application/yaml", null, "sqlite-test", CancellationToken.None));
        Assert.True(submission.Succeeded);
        Assert.Empty(submission.Errors);
        Assert.True(submission.Stored.Created);
        Assert.Equal(12, submission.Stored.TaskCount); // 2 prompts x 3 seeds x 2 sigmas
        var id = submission.Stored.SweepId;

        var sweep = await app.WithDbAsync(db => db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == id));
        Assert.Equal(("cats and dogs", 3, 12, 3), (sweep.Name, sweep.MaxAttempts, sweep.TaskCount, sweep.Priority));
        var tasks = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == id).OrderBy(t => t.TaskIndex).ToListAsync());
        Assert.Equal(Enumerable.Range(0, 12), tasks.Select(t => t.TaskIndex));

        // Each row is the expansion of the same definition: stable id and every resolved parameter.
        var definition = SweepParser.ParseYaml(Yaml).Definition!;
        foreach (var task in tasks)
        {
            Assert.Equal(TaskIds.For(id, task.TaskIndex), task.Id);
            Assert.Equal(SweepExpander.TaskAt(id, definition, task.TaskIndex).Parameters, JsonSerializer.Deserialize<RenderParameters>(task.ParametersJson));
            Assert.Equal(("tiny-sdxl", 3), (task.Model, task.Priority));
        }

        Assert.Equal(double.PositiveInfinity, JsonSerializer.Deserialize<RenderParameters>(tasks[1].ParametersJson)!.SegBlurSigma);

        // The summary counts what the database holds, whatever the dispatcher has done meanwhile.
        var detail = await app.SummaryAsync(id, detail: true);
        var counts = detail.Tasks;
        Assert.Equal(12, counts.Pending + counts.Queued + counts.Running + counts.Succeeded + counts.Failed + counts.Cancelled);
        Assert.Equal("tests", detail.Tags["project"]);
        Assert.Equal("tiny-sdxl", detail.Definition!.Value.GetProperty("model").GetString());
        Assert.Empty(detail.StuckTasks!);
        Assert.Equal(0, detail.Progress);
        Assert.Equal(0, detail.GpuSeconds);
        Assert.Equal(sweep.CreatedAt, detail.CreatedAt);
    }

    [Fact]
    public async Task Same_idempotency_key_twice_stores_one_sweep_and_returns_the_first()
    {
        var key = "submit-" + Guid.NewGuid();
        var first = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(Yaml, null, key, "sqlite-test", CancellationToken.None));
        var second = await app.WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(Yaml, null, key, "sqlite-test", CancellationToken.None));

        Assert.True(first.Succeeded && second.Succeeded);
        Assert.True(first.Stored!.Created);
        Assert.False(second.Stored!.Created);
        Assert.Equal(first.Stored.SweepId, second.Stored.SweepId);
        Assert.Equal(12, second.Stored.TaskCount);
        Assert.Equal(1, await app.WithDbAsync(db => db.Sweeps.CountAsync(s => s.IdempotencyKey == key)));
        Assert.Equal(12, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == first.Stored.SweepId)));
    }

    [Fact]
    public async Task Sweeps_are_listed_newest_first_paged_and_filtered_by_status()
    {
        var older = await app.SubmitAsync("model: m\nprompts: older\nseeds: 1\n");
        var newer = await app.SubmitAsync("model: m\nprompts: newer\nseeds: 1\n");

        var page = await app.WithAsync<SweepQueries, SweepPage>(q => q.ListAsync(null, 1, 2, CancellationToken.None));
        Assert.Equal([newer, older], page.Items.Select(s => s.Id));
        Assert.True(page.Total >= 2);
        var second = await app.WithAsync<SweepQueries, SweepPage>(q => q.ListAsync(null, 2, 1, CancellationToken.None));
        Assert.Equal(older, Assert.Single(second.Items).Id);

        Assert.Equal(SweepCommandOutcome.Done, (await app.CommandAsync((c, id, ct) => c.CancelAsync(id, ct), older)).Outcome);
        var cancelled = await app.WithAsync<SweepQueries, SweepPage>(q => q.ListAsync(SweepStatus.Cancelled, 1, 50, CancellationToken.None));
        Assert.Equal([older], cancelled.Items.Select(s => s.Id));
        Assert.Equal(1, cancelled.Total);
        Assert.Equal(SweepStatus.Cancelled, await app.WithAsync<SweepQueries, SweepStatus?>(q => q.StatusAsync(older, CancellationToken.None)));
    }

    [Fact]
    public async Task Unknown_sweep_is_null_or_not_found()
    {
        var id = Guid.NewGuid();
        Assert.Null(await app.WithAsync<SweepQueries, SweepSummary?>(q => q.GetDetailAsync(id, CancellationToken.None)));
        Assert.Null(await app.WithAsync<SweepQueries, SweepStatus?>(q => q.StatusAsync(id, CancellationToken.None)));
        Assert.Equal(SweepCommandOutcome.NotFound, (await app.CommandAsync((c, s, ct) => c.PauseAsync(s, ct), id)).Outcome);
        Assert.Equal(SweepCommandOutcome.NotFound, (await app.CommandAsync((c, s, ct) => c.RequeueFailedAsync(s, ct), id)).Outcome);
    }
}
