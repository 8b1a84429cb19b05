using System.Net;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Workers;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Scenarios;

public sealed class TwoAttemptsFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:MaxAttempts"] = "2",
        ["Coordinator:WorkerFailureStreak"] = "2",
    };
}

/// <summary>Failed events, MassTransit faults, requeue-failed with its attempt cap, and failure streaks per worker.</summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class FailureScenarios<TDatabase>(TwoAttemptsFixture<TDatabase> app) : IClassFixture<TwoAttemptsFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task Failed_task_fails_the_sweep_and_requeue_sends_it_again_until_attempts_run_out()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [requeue me]\nseeds: [1, 2]\n");
        var sent = await app.Queue.TakeAsync(2);
        await app.Worker.FailAsync(sent[0].Message, reason: "CUDA out of memory", permanent: false);
        await app.Worker.SucceedAsync(sent[1].Message);

        var failed = await app.WaitForSweepStatusAsync(sweep, "failed");
        Assert.Equal(1, failed.GetProperty("tasks").GetProperty("failed").GetInt32());
        Assert.Equal(1.0, failed.GetProperty("progress").GetDouble());
        var failedSummary = await app.SummaryAsync(sweep);
        Assert.Equal(new TaskCounts(0, 0, 0, 1, 1, 0), failedSummary.Tasks);
        Assert.Equal(1.5 + 0.5, failedSummary.GpuSeconds, 9);

        using var requeue = await app.PostAsync($"/api/sweeps/{sweep}/requeue-failed");
        Assert.Equal(HttpStatusCode.OK, requeue.StatusCode);
        var result = JsonDocument.Parse(await requeue.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, result.GetProperty("tasksAffected").GetInt32());
        Assert.Equal("running", result.GetProperty("sweep").GetProperty("status").GetString());

        var retry = (await app.Queue.TakeAsync(1))[0].Message;
        Assert.Equal(sent[0].Message.TaskId, retry.TaskId);
        Assert.Equal(2, retry.Attempt);

        // The second attempt fails too: with max attempts 2 nothing is left to requeue.
        await app.Worker.FailAsync(retry, reason: "CUDA out of memory", permanent: false);
        await app.WaitForSweepStatusAsync(sweep, "failed");
        using var none = await app.PostAsync($"/api/sweeps/{sweep}/requeue-failed");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        var noneResult = JsonDocument.Parse(await none.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, noneResult.GetProperty("tasksAffected").GetInt32());
        Assert.Equal("failed", noneResult.GetProperty("sweep").GetProperty("status").GetString());
        Assert.Equal(SweepStatus.Failed, (await app.SummaryAsync(sweep)).Status);
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));

        using var cancelFailed = await app.PostAsync($"/api/sweeps/{sweep}/cancel");
        Assert.Equal(HttpStatusCode.Conflict, cancelFailed.StatusCode);
        Assert.Contains("is failed", await cancelFailed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fault_of_a_render_task_marks_it_failed_with_the_reason_so_it_can_be_requeued()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [fault me]\nseeds: 9\n");
        var task = (await app.Queue.TakeAsync(1))[0].Message;
        await app.Worker.StartAsync(task.TaskId, "worker-faulty");

        // What MassTransit publishes when a worker's consumer throws after its retries.
        await app.Services.GetRequiredService<IBus>().Publish<Fault<RenderTask>>(new
        {
            FaultId = NewId.NextGuid(),
            FaultedMessageId = NewId.NextGuid(),
            Timestamp = DateTime.UtcNow,
            FaultMessageTypes = new[] { "urn:message:Seg.Contracts.Messages:RenderTask" },
            Host = new { MachineName = "gpu-node-7" },
            Exceptions = new ExceptionInfo[] { new MassTransit.Events.FaultExceptionInfo(new TimeoutException("connection refused")) },
            Message = task,
        });

        await app.WaitForSweepStatusAsync(sweep, "failed");
        var row = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId));
        Assert.Equal(RenderTaskStatus.Failed, row.Status);
        Assert.Contains("connection refused", row.LastError, StringComparison.Ordinal);
        Assert.Contains("gpu-node-7", row.LastError, StringComparison.Ordinal);

        using var requeue = await app.PostAsync($"/api/sweeps/{sweep}/requeue-failed");
        Assert.Equal(1, JsonDocument.Parse(await requeue.Content.ReadAsStringAsync()).RootElement.GetProperty("tasksAffected").GetInt32());
        var retry = (await app.Queue.TakeAsync(1))[0].Message;
        Assert.Equal((task.TaskId, 2), (retry.TaskId, retry.Attempt));
        await app.Worker.SucceedAsync(retry);
        await app.WaitForSweepStatusAsync(sweep, "succeeded");
    }

    [Fact]
    public async Task A_worker_that_keeps_failing_a_sweep_is_shown_in_api_workers()
    {
        await app.Worker.HeartbeatAsync("worker-broken");
        await app.Worker.HeartbeatAsync("worker-fine");
        var sweep = await app.SubmitAsync("model: m\nprompts: [streak]\nseeds: [1, 2, 3, 4]\n");
        var sent = await app.Queue.TakeAsync(4);
        await app.Worker.FailAsync(sent[0].Message, "worker-broken");
        await app.Worker.SucceedAsync(sent[1].Message, "worker-fine");
        await app.Worker.FailAsync(sent[2].Message, "worker-broken");
        await app.Worker.FailAsync(sent[3].Message, "worker-fine");
        await app.WaitForSweepStatusAsync(sweep, "failed");

        IReadOnlyList<WorkerView> views = [];
        await CoordinatorTestHost.EventuallyAsync(async () =>
        {
            views = await app.WithAsync<WorkerQueries, IReadOnlyList<WorkerView>>(q => q.ListAsync(CancellationToken.None));
            return views.Any(w => w.WorkerId == "worker-broken") && views.Any(w => w.WorkerId == "worker-fine");
        }, "both workers' heartbeats stored");
        Assert.Equal(new FailingSweep(sweep, 2), Assert.Single(views.Single(w => w.WorkerId == "worker-broken").FailingSweeps));
        Assert.Empty(views.Single(w => w.WorkerId == "worker-fine").FailingSweeps);

        var workers = await app.GetJsonAsync("/api/workers");
        JsonElement Worker(string id) => workers.EnumerateArray().Single(w => w.GetProperty("workerId").GetString() == id);
        var broken = Worker("worker-broken").GetProperty("failingSweeps").EnumerateArray().ToList();
        Assert.Equal(sweep, Assert.Single(broken).GetProperty("sweepId").GetGuid());
        Assert.Equal(2, broken[0].GetProperty("consecutiveFailures").GetInt32());
        // One failure after a success is not a streak of two.
        Assert.Empty(Worker("worker-fine").GetProperty("failingSweeps").EnumerateArray());
    }
}

public sealed class FailureOnPostgres(TwoAttemptsFixture<PostgresDatabase> app) : FailureScenarios<PostgresDatabase>(app);

public sealed class FailureOnSqlite(TwoAttemptsFixture<SqliteDatabase> app) : FailureScenarios<SqliteDatabase>(app);
