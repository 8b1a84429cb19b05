using Microsoft.EntityFrameworkCore;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Sqlite;

public sealed class TwoInFlightSqliteFixture : SqliteCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:MaxInFlight"] = "2" };
}

/// <summary>
/// Cancel and pause on SQLite act at once: after the call returns, no message of the sweep is sent. A second sweep
/// submitted afterwards is the barrier: once its message arrives, the dispatcher has had its chance to send the first one's.
/// </summary>
public sealed class SqliteCancelTests(TwoInFlightSqliteFixture app) : IClassFixture<TwoInFlightSqliteFixture>
{
    [Fact]
    public async Task Cancel_stops_dispatch_and_cancels_the_tasks_not_started()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [a cat]\nseeds: {start: 0, count: 5}\n");
        var sent = await app.Inbox.TakeAsync(2);
        Assert.All(sent, m => Assert.Equal(sweep, m.SweepId));

        var cancel = await app.CommandAsync((c, id, ct) => c.CancelAsync(id, ct), sweep);
        Assert.Equal(new SweepCommandResult(SweepCommandOutcome.Done, 5), cancel); // 3 pending + 2 queued
        var cancelled = await app.SummaryAsync(sweep);
        Assert.Equal(SweepStatus.Cancelled, cancelled.Status);
        Assert.Equal(new TaskCounts(0, 0, 0, 0, 0, 5), cancelled.Tasks);
        Assert.NotNull(cancelled.FinishedAt);

        // The queued tasks were cancelled, so the room is free: the barrier sweep gets it, the cancelled one nothing.
        var barrier = await app.SubmitAsync("model: m\nprompts: [barrier]\nseeds: 1\n");
        var next = await app.Inbox.TakeAsync(1);
        Assert.Equal(barrier, next[0].SweepId);
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));

        var again = await app.CommandAsync((c, id, ct) => c.CancelAsync(id, ct), sweep);
        Assert.Equal(SweepCommandOutcome.Conflict, again.Outcome);
        Assert.Contains("is cancelled", again.Reason, StringComparison.Ordinal);
        Assert.Equal(SweepCommandOutcome.Conflict, (await app.CommandAsync((c, id, ct) => c.ResumeAsync(id, ct), sweep)).Outcome);
        Assert.Equal(SweepCommandOutcome.Conflict, (await app.CommandAsync((c, id, ct) => c.RequeueFailedAsync(id, ct), sweep)).Outcome);

        await app.Worker.SucceedAsync(next[0]);
        await app.WaitForSweepStatusAsync(barrier, SweepStatus.Succeeded);
        Assert.Equal(SweepStatus.Cancelled, (await app.SummaryAsync(sweep)).Status);
    }
}

public sealed class SqlitePauseResumeTests(TwoInFlightSqliteFixture app) : IClassFixture<TwoInFlightSqliteFixture>
{
    [Fact]
    public async Task Pause_stops_dispatch_and_resume_restarts_it()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [a cat]\nseeds: {start: 0, count: 4}\n");
        var sent = await app.Inbox.TakeAsync(2);

        Assert.Equal(SweepCommandOutcome.Done, (await app.CommandAsync((c, id, ct) => c.PauseAsync(id, ct), sweep)).Outcome);
        Assert.Equal(SweepStatus.Paused, (await app.SummaryAsync(sweep)).Status);
        Assert.Equal(SweepCommandOutcome.Conflict, (await app.CommandAsync((c, id, ct) => c.PauseAsync(id, ct), sweep)).Outcome);

        // Tasks already sent finish; their room goes to the barrier sweep, none to the paused one.
        foreach (var message in sent)
        {
            await app.Worker.SucceedAsync(message);
        }

        var barrier = await app.SubmitAsync("model: m\nprompts: [barrier]\nseeds: 1\n");
        var next = await app.Inbox.TakeAsync(1);
        Assert.Equal(barrier, next[0].SweepId);
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));
        var paused = await app.SummaryAsync(sweep);
        Assert.Equal(SweepStatus.Paused, paused.Status);
        Assert.Equal(new TaskCounts(2, 0, 0, 2, 0, 0), paused.Tasks);
        Assert.Null(paused.EtaSeconds);

        await app.Worker.SucceedAsync(next[0]);
        Assert.Equal(SweepCommandOutcome.Done, (await app.CommandAsync((c, id, ct) => c.ResumeAsync(id, ct), sweep)).Outcome);
        var rest = await app.Inbox.TakeAsync(2);
        Assert.Equal([2L, 3], rest.Select(m => m.TaskIndex));
        Assert.All(rest, m => Assert.Equal(sweep, m.SweepId));

        var resumeAgain = await app.CommandAsync((c, id, ct) => c.ResumeAsync(id, ct), sweep);
        Assert.Equal(SweepCommandOutcome.Conflict, resumeAgain.Outcome);
        Assert.Contains("only paused sweeps can be resumed", resumeAgain.Reason, StringComparison.Ordinal);

        foreach (var message in rest)
        {
            await app.Worker.SucceedAsync(message);
        }

        await app.WaitForSweepStatusAsync(sweep, SweepStatus.Succeeded);
        Assert.Equal(4, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Succeeded)));
    }
}
