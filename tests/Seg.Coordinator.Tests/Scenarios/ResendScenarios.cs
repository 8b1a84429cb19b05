using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Storage.Entities;
using Seg.Storage.Workers;

namespace Seg.Coordinator.Tests.Scenarios;

public sealed class ResendFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:MaxInFlight"] = "3",
        ["Coordinator:ResendQueuedAfterSeconds"] = "2",
        // Stale after 3 s without a heartbeat.
        ["Heartbeat:IntervalSeconds"] = "1",
        // Resends are found by the dispatcher's rounds: poll often.
        ["Coordinator:DispatchIntervalSeconds"] = "0.2",
        // The periodic check also completes sweeps whose last event was lost.
        ["Coordinator:StuckTaskCheckIntervalSeconds"] = "1",
    };
}

/// <summary>
/// Lost messages are sent again (issue 9): a queued task whose message no worker started in time (the queue was
/// purged: here the messages are taken and dropped), and a running task whose worker stopped sending heartbeats. The
/// resends count per task and in the sweep, and the lost tasks do not keep MaxInFlight full.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class ResendScenarios<TDatabase>(ResendFixture<TDatabase> app) : IClassFixture<ResendFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task Queued_tasks_whose_messages_were_lost_are_sent_again_and_the_sweep_finishes()
    {
        var sweep = await app.SubmitAsync("name: lost\nmodel: m\nprompts: [lost]\nseeds: {start: 0, count: 5}\n");
        var lost = await TakeAsync(sweep, 3); // MaxInFlight 3; dropped, as a purge drops them

        // No worker starts them: after 2 s they are sent again, the same tasks, still attempt 1.
        var again = await TakeAsync(sweep, 3);
        Assert.Equal(lost.Select(m => m.Message.TaskId).Order(), again.Select(m => m.Message.TaskId).Order());
        Assert.All(again, m => Assert.Equal(1, m.Message.Attempt));
        // The round sends before it commits: the counts show once it has.
        await CoordinatorTestHost.EventuallyAsync(async () => (await app.WithDbAsync(db => db.RenderTasks.Where(t => t.SweepId == sweep)
            .OrderBy(t => t.TaskIndex).Select(t => t.Resends).ToListAsync())).Select(r => Math.Min(r, 1)).SequenceEqual([1, 1, 1, 0, 0]), "3 tasks resent");
        Assert.True((await app.GetJsonAsync($"/api/sweeps/{sweep}")).GetProperty("resends").GetInt32() >= 3);

        // The resent ones finish, which makes room for the other two; copies sent again meanwhile are skipped.
        var remaining = Enumerable.Range(0, 5).Select(i => Contracts.Sweeps.TaskIds.For(sweep, i)).ToHashSet();
        foreach (var message in again)
        {
            await app.Worker.SucceedAsync(message.Message);
            remaining.Remove(message.Message.TaskId);
        }

        while (remaining.Count > 0)
        {
            var message = (await TakeAsync(sweep, 1))[0];
            if (remaining.Remove(message.Message.TaskId))
            {
                await app.Worker.SucceedAsync(message.Message);
            }
        }

        var done = await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(5, done.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        // Late copies of the resent messages may still be on the queue; a worker acknowledges them without a render.
    }

    [Fact]
    public async Task A_running_task_whose_worker_stopped_sending_heartbeats_is_sent_again()
    {
        var sweep = await app.SubmitAsync("name: orphan\nmodel: m\nprompts: [orphan]\nseeds: [7]\n");
        var sent = Assert.Single(await TakeAsync(sweep, 1));
        // The coordinator judges heartbeats only over a connection that is up (the observer saw its endpoints start).
        Assert.NotNull(app.Services.GetRequiredService<Seg.Coordinator.Dispatch.BrokerConnection>().ConnectedSince);
        await app.Worker.StartAsync(sent.Message.TaskId, "worker-gone");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            // The worker's last heartbeat was a minute ago (stale after 3 s), and it took the task before that.
            var old = DateTimeOffset.UtcNow.AddMinutes(-1);
            await scope.ServiceProvider.GetRequiredService<WorkerHeartbeatWriter>().UpsertAsync(new WorkerRecord
            {
                WorkerId = "worker-gone",
                Host = "gone",
                LastHeartbeatAt = old,
                FirstSeenAt = old,
            }, CancellationToken.None);
            await app.WithDbAsync(db => db.RenderTasks.Where(t => t.Id == sent.Message.TaskId)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, old.AddSeconds(-5))));
        }

        var again = Assert.Single(await TakeAsync(sweep, 1));
        Assert.Equal(sent.Message.TaskId, again.Message.TaskId);
        // The round sends before it commits: the row shows the resend once it has.
        await CoordinatorTestHost.EventuallyAsync(
            async () => await app.WithDbAsync(db => db.RenderTasks.AnyAsync(t => t.Id == sent.Message.TaskId && t.Resends == 1)), "the resend recorded");
        var task = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == sent.Message.TaskId));
        Assert.Equal(1, task.Resends);
        Assert.Equal(1, task.Attempts); // the attempt the gone worker used stays counted
        Assert.Equal(2, again.Message.Attempt);

        await app.Worker.SucceedAsync(again.Message, workerId: "worker-new");
        var done = await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(1, done.GetProperty("resends").GetInt32());
    }

    [Fact]
    public async Task A_sweep_whose_last_events_were_lost_is_completed_by_the_periodic_check()
    {
        var sweep = await app.SubmitAsync("name: events-lost\nmodel: m\nprompts: [events]\nseeds: [1, 2]\n");
        foreach (var message in await TakeAsync(sweep, 2))
        {
            // Rendered and marked succeeded, but the success events are lost (a broker that restarted empty): none is published.
            await app.Worker.StartAsync(message.Message.TaskId, "worker-events-lost");
            Assert.True(await app.WithAsync<Storage.Tasks.TaskTransitions, bool>(t =>
                t.TryMarkSucceededAsync(message.Message.TaskId, 1.0, CancellationToken.None)));
        }

        var done = await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(2, done.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, done.GetProperty("finishedAt").ValueKind);
    }

    /// <summary>The next <paramref name="count"/> messages of <paramref name="sweep"/>; copies left by the other test are dropped.</summary>
    private async Task<List<ReceivedRenderTask>> TakeAsync(Guid sweep, int count)
    {
        var taken = new List<ReceivedRenderTask>();
        while (taken.Count < count)
        {
            taken.AddRange((await app.Queue.TakeAsync(1, TimeSpan.FromSeconds(30))).Where(m => m.Message.SweepId == sweep));
        }

        return taken;
    }
}

public sealed class ResendOnPostgres(ResendFixture<PostgresDatabase> app) : ResendScenarios<PostgresDatabase>(app);

public sealed class ResendOnSqlite(ResendFixture<SqliteDatabase> app) : ResendScenarios<SqliteDatabase>(app);
