using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Storage.Entities;
using Seg.Worker.Tasks;
using Seg.Worker.Tests.Infrastructure;

namespace Seg.Worker.Tests;

/// <summary>
/// A task that the database says runs on this worker while no consume of the worker holds it (its message went with a
/// broker that restarted empty, its consume was cancelled) is given back to the queue; one in hand is left alone, as
/// are other workers' tasks and tasks that started less than a heartbeat interval ago.
/// </summary>
public sealed class LeftBehindTaskReleaseTests(WorkerTestEnvironment environment) : IClassFixture<WorkerTestEnvironment>
{
    [Fact]
    public async Task Running_tasks_no_consume_holds_go_back_to_the_queue_with_their_attempt_refunded()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var tasks = await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 1), TestTasks.Tiny(seed: 2), TestTasks.Tiny(seed: 3), TestTasks.Tiny(seed: 4));
        var (leftBehind, inHand, otherWorkers, justStarted) = (tasks[0].TaskId, tasks[1].TaskId, tasks[2].TaskId, tasks[3].TaskId);
        var longAgo = DateTimeOffset.UtcNow.AddHours(-1);
        await using (var db = environment.CreateContext())
        {
            await db.RenderTasks.Where(t => t.Id == leftBehind || t.Id == inHand || t.Id == justStarted)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Running).SetProperty(t => t.WorkerId, "test-worker")
                    .SetProperty(t => t.Attempts, 2).SetProperty(t => t.StartedAt, longAgo));
            await db.RenderTasks.Where(t => t.Id == justStarted).ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, DateTimeOffset.UtcNow));
            await db.RenderTasks.Where(t => t.Id == otherWorkers)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Running).SetProperty(t => t.WorkerId, "another-worker")
                    .SetProperty(t => t.Attempts, 1).SetProperty(t => t.StartedAt, longAgo));
        }

        var hands = worker.Services.GetRequiredService<TasksInHand>();
        hands.Take(inHand);
        // Two consumes of one task: the first to return must not leave the other's task looking abandoned.
        hands.Take(inHand);
        hands.Drop(inHand);

        Assert.Equal(1, await worker.Services.GetRequiredService<LeftBehindTaskRelease>().ReleaseLeftBehindAsync(CancellationToken.None));

        await using var check = environment.CreateContext();
        var rows = await check.RenderTasks.AsNoTracking().Where(t => tasks.Select(m => m.TaskId).Contains(t.Id)).ToDictionaryAsync(t => t.Id);
        Assert.Equal((RenderTaskStatus.Queued, 1), (rows[leftBehind].Status, rows[leftBehind].Attempts));
        Assert.Contains("no consume of the worker held it", rows[leftBehind].LastError, StringComparison.Ordinal);
        Assert.Equal(RenderTaskStatus.Running, rows[inHand].Status);
        Assert.Equal(RenderTaskStatus.Running, rows[otherWorkers].Status);
        Assert.Equal(RenderTaskStatus.Running, rows[justStarted].Status);

        hands.Drop(inHand);
        Assert.False(hands.Holds(inHand));
        Assert.Equal(1, await worker.Services.GetRequiredService<LeftBehindTaskRelease>().ReleaseLeftBehindAsync(CancellationToken.None));
    }
}
