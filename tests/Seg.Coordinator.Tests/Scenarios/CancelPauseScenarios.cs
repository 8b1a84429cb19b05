using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Scenarios;

public sealed class TwoInFlightFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:MaxInFlight"] = "2" };
}

/// <summary>
/// Cancel and pause act at once: after the call returns, no message of the sweep is sent. A second sweep submitted
/// afterwards is the barrier: once its message arrives, the dispatcher has had its chance to send the first one's.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class CancelScenarios<TDatabase>(TwoInFlightFixture<TDatabase> app) : IClassFixture<TwoInFlightFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task Cancel_stops_dispatch_and_cancels_the_tasks_not_started()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [a cat]\nseeds: {start: 0, count: 5}\n");
        var sent = await app.Queue.TakeAsync(2);
        Assert.All(sent, m => Assert.Equal(sweep, m.Message.SweepId));

        using var cancel = await app.PostAsync($"/api/sweeps/{sweep}/cancel");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var result = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("cancel", result.GetProperty("action").GetString());
        Assert.Equal(5, result.GetProperty("tasksAffected").GetInt32()); // 3 pending + 2 queued
        Assert.Equal("cancelled", result.GetProperty("sweep").GetProperty("status").GetString());
        Assert.Equal(5, result.GetProperty("sweep").GetProperty("tasks").GetProperty("cancelled").GetInt32());
        var cancelled = await app.SummaryAsync(sweep);
        Assert.Equal(SweepStatus.Cancelled, cancelled.Status);
        Assert.Equal(new TaskCounts(0, 0, 0, 0, 0, 5), cancelled.Tasks);
        Assert.NotNull(cancelled.FinishedAt);

        // The queued tasks were cancelled, so the room is free: the barrier sweep gets it, the cancelled one nothing.
        var barrier = await app.SubmitAsync("model: m\nprompts: [barrier]\nseeds: 1\n");
        var next = await app.Queue.TakeAsync(1);
        Assert.Equal(barrier, next[0].Message.SweepId);
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));
        Assert.Equal(5, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Cancelled)));

        using var again = await app.PostAsync($"/api/sweeps/{sweep}/cancel");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var problem = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("is cancelled", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(409, problem.GetProperty("status").GetInt32());

        using var resume = await app.PostAsync($"/api/sweeps/{sweep}/resume");
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
        using var requeue = await app.PostAsync($"/api/sweeps/{sweep}/requeue-failed");
        Assert.Equal(HttpStatusCode.Conflict, requeue.StatusCode);

        await app.Worker.SucceedAsync(next[0].Message);
        await app.WaitForSweepStatusAsync(barrier, "succeeded");
        Assert.Equal("cancelled", (await app.GetJsonAsync($"/api/sweeps/{sweep}")).GetProperty("status").GetString());
    }
}

public sealed class CancelOnPostgres(TwoInFlightFixture<PostgresDatabase> app) : CancelScenarios<PostgresDatabase>(app);

public sealed class CancelOnSqlite(TwoInFlightFixture<SqliteDatabase> app) : CancelScenarios<SqliteDatabase>(app);

/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class PauseResumeScenarios<TDatabase>(TwoInFlightFixture<TDatabase> app) : IClassFixture<TwoInFlightFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task Pause_stops_dispatch_and_resume_restarts_it()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [a cat]\nseeds: {start: 0, count: 4}\n");
        var sent = await app.Queue.TakeAsync(2);

        using var pause = await app.PostAsync($"/api/sweeps/{sweep}/pause");
        Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        Assert.Equal("paused", JsonDocument.Parse(await pause.Content.ReadAsStringAsync()).RootElement.GetProperty("sweep").GetProperty("status").GetString());
        using var pauseAgain = await app.PostAsync($"/api/sweeps/{sweep}/pause");
        Assert.Equal(HttpStatusCode.Conflict, pauseAgain.StatusCode);

        // Tasks already sent finish; their room goes to the barrier sweep, none to the paused one.
        foreach (var message in sent)
        {
            await app.Worker.SucceedAsync(message.Message);
        }

        var barrier = await app.SubmitAsync("model: m\nprompts: [barrier]\nseeds: 1\n");
        var next = await app.Queue.TakeAsync(1);
        Assert.Equal(barrier, next[0].Message.SweepId);
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));
        var paused = await app.GetJsonAsync($"/api/sweeps/{sweep}");
        Assert.Equal("paused", paused.GetProperty("status").GetString());
        Assert.Equal(2, paused.GetProperty("tasks").GetProperty("pending").GetInt32());
        Assert.Equal(JsonValueKind.Null, paused.GetProperty("etaSeconds").ValueKind);
        var pausedSummary = await app.SummaryAsync(sweep);
        Assert.Equal(SweepStatus.Paused, pausedSummary.Status);
        Assert.Equal(new TaskCounts(2, 0, 0, 2, 0, 0), pausedSummary.Tasks);
        Assert.Null(pausedSummary.EtaSeconds);

        await app.Worker.SucceedAsync(next[0].Message);
        using var resume = await app.PostAsync($"/api/sweeps/{sweep}/resume");
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var rest = await app.Queue.TakeAsync(2);
        Assert.Equal([2L, 3], rest.Select(m => m.Message.TaskIndex));
        Assert.All(rest, m => Assert.Equal(sweep, m.Message.SweepId));

        using var resumeAgain = await app.PostAsync($"/api/sweeps/{sweep}/resume");
        Assert.Equal(HttpStatusCode.Conflict, resumeAgain.StatusCode);
        Assert.Contains("only paused sweeps can be resumed", await resumeAgain.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        foreach (var message in rest)
        {
            await app.Worker.SucceedAsync(message.Message);
        }

        await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(4, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Succeeded)));
    }
}

public sealed class PauseResumeOnPostgres(TwoInFlightFixture<PostgresDatabase> app) : PauseResumeScenarios<PostgresDatabase>(app);

public sealed class PauseResumeOnSqlite(TwoInFlightFixture<SqliteDatabase> app) : PauseResumeScenarios<SqliteDatabase>(app);

/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class UnreadableTaskScenarios<TDatabase>(TwoInFlightFixture<TDatabase> app) : IClassFixture<TwoInFlightFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task The_tasks_of_a_sweep_whose_definition_cannot_be_expanded_are_failed_and_do_not_block_dispatch()
    {
        var first = await app.SubmitAsync("model: m\nprompts: [a cat]\nseeds: [1, 2, 3, 4]\n");
        var sent = await app.Queue.TakeAsync(2);
        // Dispatched before the first sweep's rest (a higher priority), once there is room; its stored definition is
        // then one this version cannot expand (as if written by another version).
        var broken = await app.SubmitAsync("model: m\nprompts: [a dog]\nseeds: [5, 6]\npriority: 5\n");
        await app.WithDbAsync(db => db.Sweeps.Where(s => s.Id == broken)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.DefinitionJson, """{"prompt": "no model, no seed"}""")));

        await app.Worker.SucceedAsync(sent[0].Message);
        var next = await app.Queue.TakeAsync(1);
        Assert.Equal((first, 2), (next[0].Message.SweepId, next[0].Message.TaskIndex));
        var failed = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == broken).ToListAsync());
        Assert.All(failed, t => Assert.Equal(RenderTaskStatus.Failed, t.Status));
        Assert.All(failed, t => Assert.Contains("definition_json cannot be expanded by this version", t.LastError, StringComparison.Ordinal));

        await app.Worker.SucceedAsync(sent[1].Message);
        await app.Worker.SucceedAsync(next[0].Message);
        var last = await app.Queue.TakeAsync(1);
        await app.Worker.SucceedAsync(last[0].Message);
        await app.WaitForSweepStatusAsync(first, "succeeded");
        await app.WaitForSweepStatusAsync(broken, "failed");
    }
}

public sealed class UnreadableTaskOnPostgres(TwoInFlightFixture<PostgresDatabase> app) : UnreadableTaskScenarios<PostgresDatabase>(app);

public sealed class UnreadableTaskOnSqlite(TwoInFlightFixture<SqliteDatabase> app) : UnreadableTaskScenarios<SqliteDatabase>(app);
