using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Workers;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Sqlite;

public sealed class TwoAttemptsSqliteFixture : SqliteCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:MaxAttempts"] = "2",
        ["Coordinator:WorkerFailureStreak"] = "2",
    };
}

/// <summary>On SQLite: failed events, MassTransit faults, requeue-failed with its attempt cap, failure streaks per worker.</summary>
public sealed class SqliteFailureTests(TwoAttemptsSqliteFixture app) : IClassFixture<TwoAttemptsSqliteFixture>
{
    [Fact]
    public async Task Failed_task_fails_the_sweep_and_requeue_sends_it_again_until_attempts_run_out()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [requeue me]\nseeds: [1, 2]\n");
        var sent = await app.Inbox.TakeAsync(2);
        await app.Worker.FailAsync(sent[0], reason: "CUDA out of memory", permanent: false);
        await app.Worker.SucceedAsync(sent[1]);

        var failed = await app.WaitForSweepStatusAsync(sweep, SweepStatus.Failed);
        Assert.Equal(new TaskCounts(0, 0, 0, 1, 1, 0), failed.Tasks);
        Assert.Equal(1.0, failed.Progress);
        Assert.Equal(1.5 + 0.5, failed.GpuSeconds, 9);

        var requeue = await app.CommandAsync((c, id, ct) => c.RequeueFailedAsync(id, ct), sweep);
        Assert.Equal(new SweepCommandResult(SweepCommandOutcome.Done, 1), requeue);
        Assert.Equal(SweepStatus.Running, (await app.SummaryAsync(sweep)).Status);

        var retry = (await app.Inbox.TakeAsync(1))[0];
        Assert.Equal((sent[0].TaskId, 2), (retry.TaskId, retry.Attempt));

        // The second attempt fails too: with max attempts 2 nothing is left to requeue.
        await app.Worker.FailAsync(retry, reason: "CUDA out of memory", permanent: false);
        await app.WaitForSweepStatusAsync(sweep, SweepStatus.Failed);
        Assert.Equal(new SweepCommandResult(SweepCommandOutcome.Done, 0), await app.CommandAsync((c, id, ct) => c.RequeueFailedAsync(id, ct), sweep));
        Assert.Equal(SweepStatus.Failed, (await app.SummaryAsync(sweep)).Status);
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));

        var cancelFailed = await app.CommandAsync((c, id, ct) => c.CancelAsync(id, ct), sweep);
        Assert.Equal(SweepCommandOutcome.Conflict, cancelFailed.Outcome);
        Assert.Contains("is failed", cancelFailed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fault_of_a_render_task_marks_it_failed_with_the_reason_so_it_can_be_requeued()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [fault me]\nseeds: 9\n");
        var task = (await app.Inbox.TakeAsync(1))[0];
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

        await app.WaitForSweepStatusAsync(sweep, SweepStatus.Failed);
        var row = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId));
        Assert.Equal(RenderTaskStatus.Failed, row.Status);
        Assert.Contains("connection refused", row.LastError, StringComparison.Ordinal);
        Assert.Contains("gpu-node-7", row.LastError, StringComparison.Ordinal);

        Assert.Equal(1, (await app.CommandAsync((c, id, ct) => c.RequeueFailedAsync(id, ct), sweep)).TasksAffected);
        var retry = (await app.Inbox.TakeAsync(1))[0];
        Assert.Equal((task.TaskId, 2), (retry.TaskId, retry.Attempt));
        await app.Worker.SucceedAsync(retry);
        await app.WaitForSweepStatusAsync(sweep, SweepStatus.Succeeded);
    }

    [Fact]
    public async Task A_worker_that_keeps_failing_a_sweep_is_shown_by_the_workers_query()
    {
        await app.Worker.HeartbeatAsync("worker-broken");
        await app.Worker.HeartbeatAsync("worker-fine");
        var sweep = await app.SubmitAsync("model: m\nprompts: [streak]\nseeds: [1, 2, 3, 4]\n");
        var sent = await app.Inbox.TakeAsync(4);
        await app.Worker.FailAsync(sent[0], "worker-broken");
        await app.Worker.SucceedAsync(sent[1], "worker-fine");
        await app.Worker.FailAsync(sent[2], "worker-broken");
        await app.Worker.FailAsync(sent[3], "worker-fine");
        await app.WaitForSweepStatusAsync(sweep, SweepStatus.Failed);

        IReadOnlyList<WorkerView> workers = [];
        await CoordinatorFixture.EventuallyAsync(async () =>
        {
            workers = await app.WithAsync<WorkerQueries, IReadOnlyList<WorkerView>>(q => q.ListAsync(CancellationToken.None));
            return workers.Any(w => w.WorkerId == "worker-broken") && workers.Any(w => w.WorkerId == "worker-fine");
        }, "both workers' heartbeats stored");
        var broken = Assert.Single(workers.Single(w => w.WorkerId == "worker-broken").FailingSweeps);
        Assert.Equal(new FailingSweep(sweep, 2), broken);
        // One failure after a success is not a streak of two.
        Assert.Empty(workers.Single(w => w.WorkerId == "worker-fine").FailingSweeps);
    }
}
