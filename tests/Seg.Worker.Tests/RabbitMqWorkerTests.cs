using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Storage.Entities;
using Seg.Worker.Tests.Infrastructure;

namespace Seg.Worker.Tests;

/// <summary>Workers on the real RabbitMQ, PostgreSQL and Azurite: delivery, events, heartbeats and shutdown.</summary>
public sealed class RabbitMqWorkerTests(WorkerTestEnvironment environment) : IClassFixture<WorkerTestEnvironment>
{
    [Fact]
    public async Task Tasks_sent_to_the_queue_render_with_the_tiny_model_and_events_and_heartbeats_reach_the_broker()
    {
        await using var worker = await HostedWorker.StartAsync(environment, "rabbit-worker", s => s["Heartbeat:IntervalSeconds"] = "0.5");
        var tasks = await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 1), TestTasks.Tiny(seed: 2, layers: "m1"), TestTasks.Tiny(model: "missing"));

        foreach (var task in tasks)
        {
            await worker.SendAsync(task);
        }

        await Wait.UntilAsync(() => Task.FromResult(worker.Events.Of<RenderTaskSucceeded>(e => tasks.Any(t => t.TaskId == e.TaskId)).Count == 2
            && worker.Events.Of<RenderTaskFailed>(e => e.TaskId == tasks[2].TaskId).Count == 1), "two successes and one failure");
        await using var db = environment.CreateContext();
        var rows = await db.RenderTasks.AsNoTracking().Where(t => t.SweepId == tasks[0].SweepId).OrderBy(t => t.TaskIndex).ToListAsync();
        Assert.Equal([RenderTaskStatus.Succeeded, RenderTaskStatus.Succeeded, RenderTaskStatus.Failed], rows.Select(r => r.Status));
        Assert.Equal(2, await db.Images.CountAsync(i => i.SweepId == tasks[0].SweepId));
        Assert.True(worker.Events.Of<RenderTaskFailed>(e => e.TaskId == tasks[2].TaskId).Single().Permanent);

        await Wait.UntilAsync(() => Task.FromResult(worker.Events.Of<WorkerHeartbeat>(h => h.WorkerId == "rabbit-worker" && h.TasksDone == 2).Count > 0),
            "a heartbeat after the tasks");
        var beat = worker.Events.Of<WorkerHeartbeat>(h => h.WorkerId == "rabbit-worker" && h.TasksDone == 2)[0];
        Assert.Equal((1, "pipeline"), (beat.Slots, beat.RenderMode));
        Assert.Equal(["cpu"], beat.Devices);
        Assert.Equal(["tiny"], beat.ModelsCached);
    }

    [Fact]
    public async Task A_stopping_worker_lets_the_task_in_hand_finish_within_the_drain_time()
    {
        var worker = await HostedWorker.StartAsync(environment, "draining-worker", s =>
        {
            s["Worker:RenderMode"] = "fake";
            s["Worker:FakeRenderSeconds"] = "1.5";
            s["Worker:DrainTimeoutSeconds"] = "30";
        });
        await using (worker)
        {
            var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 21)))[0];
            await worker.SendAsync(task);
            await WaitForStatusAsync(task, RenderTaskStatus.Running);

            var stop = Stopwatch.StartNew();
            await worker.StopAsync();

            await using var db = environment.CreateContext();
            var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
            Assert.Equal((RenderTaskStatus.Succeeded, "draining-worker", 1), (row.Status, row.WorkerId, row.Attempts));
            Assert.True(await db.Images.AnyAsync(i => i.TaskId == task.TaskId));
            Assert.True(stop.Elapsed < TimeSpan.FromSeconds(25), $"stop took {stop.Elapsed}");
        }
    }

    [Fact]
    public async Task When_the_drain_time_runs_out_the_render_is_cancelled_and_the_task_redelivered_without_using_an_attempt()
    {
        var task = (await TestTasks.InsertAsync(environment, maxAttempts: 1, TestTasks.Tiny(seed: 22)))[0];
        var first = await HostedWorker.StartAsync(environment, "slow-worker", s =>
        {
            s["Worker:RenderMode"] = "fake";
            s["Worker:FakeRenderSeconds"] = "120";
            s["Worker:DrainTimeoutSeconds"] = "1";
        });
        await using (first)
        {
            await first.SendAsync(task);
            await WaitForStatusAsync(task, RenderTaskStatus.Running);

            var stop = Stopwatch.StartNew();
            await first.StopAsync();
            Assert.True(stop.Elapsed < TimeSpan.FromSeconds(20), $"stop took {stop.Elapsed}");
        }

        await using (var db = environment.CreateContext())
        {
            var released = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
            Assert.Equal((RenderTaskStatus.Queued, 0), (released.Status, released.Attempts));
            Assert.StartsWith("released by worker slow-worker", released.LastError, StringComparison.Ordinal);
            Assert.False(await db.Images.AnyAsync(i => i.TaskId == task.TaskId));
        }

        // The message went back to the queue (not to the error queue): the next worker finishes the task, and
        // with max_attempts 1 it could not if the drained start had used the attempt.
        await using var second = await HostedWorker.StartAsync(environment, "next-worker", s => s["Worker:RenderMode"] = "fake");
        // (The database, not the events: the queued message can be consumed before the test's event queue is bound.)
        await WaitForStatusAsync(task, RenderTaskStatus.Succeeded);
        await using (var db = environment.CreateContext())
        {
            var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
            Assert.Equal((RenderTaskStatus.Succeeded, "next-worker", 1), (row.Status, row.WorkerId, row.Attempts));
        }
    }

    private async Task WaitForStatusAsync(RenderTask task, RenderTaskStatus status)
    {
        await Wait.UntilAsync(async () =>
        {
            await using var db = environment.CreateContext();
            return await db.RenderTasks.AnyAsync(t => t.Id == task.TaskId && t.Status == status);
        }, $"task {task.TaskId} {status}");
    }
}
