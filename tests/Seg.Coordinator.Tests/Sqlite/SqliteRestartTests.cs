using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Coordinator.Dispatch;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Tests.Sqlite;

public sealed class RecoveringSqliteFixture : StandaloneCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:MaxInFlight"] = "3",
        ["Coordinator:RecoverInFlightAtStart"] = "true",
    };
}

/// <summary>
/// The standalone mode stopped and started again on the same SQLite file: the in-memory bus lost every message, so
/// <see cref="InFlightRecovery"/> puts the tasks left in flight back to pending, ends those of a cancelled sweep and
/// completes a sweep whose last event was lost; the new host then dispatches again. SQLite only: the standalone mode is
/// the one host on the in-memory transport, and it keeps its database in a SQLite file.
/// </summary>
public sealed class SqliteRestartTests(RecoveringSqliteFixture app) : IClassFixture<RecoveringSqliteFixture>
{
    [Fact]
    public async Task A_restarted_host_recovers_the_tasks_left_in_flight_and_dispatches_them_again()
    {
        // A sweep whose only task succeeded, but the event that completes the sweep never arrived.
        var lost = await app.SubmitAsync("model: m\nprompts: [lost event]\nseeds: 1\n");
        var lostTask = (await app.Inbox.TakeAsync(1))[0];
        await app.Worker.StartAsync(lostTask.TaskId, "worker-1");
        Assert.True(await app.WithAsync<TaskTransitions, bool>(t => t.TryMarkSucceededAsync(lostTask.TaskId, 1, CancellationToken.None)));

        // A cancelled sweep whose task was running: cancel leaves running tasks to finish, which none will now.
        var cancelled = await app.SubmitAsync("model: m\nprompts: [cancelled]\nseeds: 1\n");
        var cancelledTask = (await app.Inbox.TakeAsync(1))[0];
        await app.Worker.StartAsync(cancelledTask.TaskId, "worker-1");
        Assert.Equal(SweepCommandOutcome.Done, (await app.CommandAsync((c, id, ct) => c.CancelAsync(id, ct), cancelled)).Outcome);

        // An open sweep: one task running, one queued, two pending (room 3, one slot held by the cancelled sweep).
        var open = await app.SubmitAsync("model: m\nprompts: [open]\nseeds: {start: 0, count: 4}\n");
        var sent = await app.Inbox.TakeAsync(2);
        Assert.Equal([0L, 1], sent.Select(m => m.TaskIndex));
        await app.Worker.StartAsync(sent[0].TaskId, "worker-1");
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));
        Assert.Equal(SweepStatus.Running, (await app.SummaryAsync(lost)).Status);

        await app.RestartAsync();

        Assert.Equal(SweepStatus.Succeeded, (await app.SummaryAsync(lost)).Status);
        var cancelledSummary = await app.SummaryAsync(cancelled);
        Assert.Equal((SweepStatus.Cancelled, new TaskCounts(0, 0, 0, 0, 0, 1)), (cancelledSummary.Status, cancelledSummary.Tasks));

        // The three slots go to the open sweep in task order; the task that was running keeps the attempt it used.
        var again = await app.Inbox.TakeAsync(3);
        Assert.Equal([(open, 0L, 2), (open, 1, 1), (open, 2, 1)], again.Select(m => (m.SweepId, m.TaskIndex, m.Attempt)));
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));
        Assert.Equal(1, await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == open && t.Status == RenderTaskStatus.Pending)));

        foreach (var message in again)
        {
            await app.Worker.SucceedAsync(message);
        }

        var last = await app.Inbox.TakeAsync(1);
        await app.Worker.SucceedAsync(last[0]);
        var done = await app.WaitForSweepStatusAsync(open, SweepStatus.Succeeded);
        Assert.Equal(new TaskCounts(0, 0, 0, 4, 0, 0), done.Tasks);
    }

    [Fact]
    public async Task Recovery_with_nothing_in_flight_changes_nothing()
    {
        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<InFlightRecovery>().RecoverAsync(CancellationToken.None);
        Assert.Equal(new InFlightRecoveryResult(0, 0, 0), result);
    }
}
