using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Sqlite;

public sealed class FourInFlightSqliteFixture : SqliteCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:MaxInFlight"] = "4" };
}

/// <summary>
/// On SQLite with the in-memory bus: at most MaxInFlight (4) tasks queued or running, sent in priority order with ties
/// first-in first-out, marked queued; the dispatcher wakes on submits and completions (it polls once a minute here);
/// succeeded events complete the sweeps; the summary's counts, progress, ETA and GPU seconds.
/// </summary>
public sealed class SqliteDispatchTests(FourInFlightSqliteFixture app) : IClassFixture<FourInFlightSqliteFixture>
{
    [Fact]
    public async Task At_most_max_in_flight_are_sent_in_priority_order_then_fifo_and_sweeps_complete()
    {
        const string lowYaml = "name: low\nmodel: tiny-sdxl\nprompts: [a cat]\nseeds: {start: 0, count: 6}\npriority: 0\n";
        var low = await app.SubmitAsync(lowYaml);

        var first = await app.Inbox.TakeAsync(4);
        Assert.All(first, m => Assert.Equal(low, m.SweepId));
        Assert.Equal([0L, 1, 2, 3], first.Select(m => m.TaskIndex));
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));

        var definition = SweepParser.ParseYaml(lowYaml).Definition!;
        foreach (var message in first)
        {
            Assert.Equal(TaskIds.For(low, message.TaskIndex), message.TaskId);
            Assert.Equal(1, message.Attempt);
            Assert.Equal(SweepExpander.TaskAt(low, definition, message.TaskIndex).Parameters, message.Parameters);
        }

        await CoordinatorFixture.EventuallyAsync(
            async () => await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == low && t.Status == RenderTaskStatus.Queued)) == 4,
            "4 tasks queued");
        var statuses = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == low).OrderBy(t => t.TaskIndex).Select(t => t.Status).ToListAsync());
        Assert.Equal([RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Pending, RenderTaskStatus.Pending], statuses);
        var running = await app.SummaryAsync(low);
        Assert.Equal(SweepStatus.Running, running.Status);
        Assert.Equal(new Sweeps.TaskCounts(2, 4, 0, 0, 0, 0), running.Tasks);
        Assert.Null(running.EtaSeconds); // nothing has ended yet
        Assert.NotNull(running.StartedAt);

        // Nothing more while four are in flight, whatever their priority.
        var high = await app.SubmitAsync("name: high\nmodel: tiny-sdxl\nprompts: [a dog]\nseeds: [1, 2, 3]\npriority: 5\n");
        var later = await app.SubmitAsync("name: later\nmodel: tiny-sdxl\nprompts: [a bird]\nseeds: [1, 2]\npriority: 0\n");
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));

        // Four finish: the high-priority sweep goes first, then the older of the two equal ones.
        foreach (var message in first)
        {
            await app.Worker.SucceedAsync(message);
        }

        var second = await app.Inbox.TakeAsync(4);
        Assert.Equal([(high, 0L), (high, 1), (high, 2), (low, 4)], second.Select(m => (m.SweepId, m.TaskIndex)));
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));

        // ETA from the recent rate: 4 ended since the sweep started, 2 remain, so about half the time so far.
        var before = DateTimeOffset.UtcNow;
        var progress = await app.SummaryAsync(low);
        var after = DateTimeOffset.UtcNow;
        var started = progress.StartedAt!.Value;
        Assert.Equal(4.0 / 6, progress.Progress, 9);
        Assert.Equal(new Sweeps.TaskCounts(1, 1, 0, 4, 0, 0), progress.Tasks);
        Assert.InRange(progress.EtaSeconds!.Value, (0.5 * (before - started).TotalSeconds) - 0.01, (0.5 * (after - started).TotalSeconds) + 0.01);
        Assert.Equal(4 * 1.5, progress.GpuSeconds, 9);

        foreach (var message in second)
        {
            await app.Worker.SucceedAsync(message);
        }

        var third = await app.Inbox.TakeAsync(3);
        Assert.Equal([(low, 5L), (later, 0), (later, 1)], third.Select(m => (m.SweepId, m.TaskIndex)));
        foreach (var message in third)
        {
            await app.Worker.SucceedAsync(message, gpuSeconds: 2.0);
        }

        // Succeeded events complete each sweep once its last task has ended.
        var lowDone = await app.WaitForSweepStatusAsync(low, SweepStatus.Succeeded);
        await app.WaitForSweepStatusAsync(high, SweepStatus.Succeeded);
        var laterDone = await app.WaitForSweepStatusAsync(later, SweepStatus.Succeeded);
        Assert.Equal(1.0, lowDone.Progress);
        Assert.Equal(new Sweeps.TaskCounts(0, 0, 0, 6, 0, 0), lowDone.Tasks);
        Assert.Equal((5 * 1.5) + 2.0, lowDone.GpuSeconds, 9);
        Assert.Equal(2 * 2.0, laterDone.GpuSeconds, 9);
        Assert.Null(lowDone.EtaSeconds);
        Assert.NotNull(lowDone.FinishedAt);
        Assert.True(lowDone.FinishedAt >= lowDone.StartedAt);
        await app.Inbox.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));
    }
}
