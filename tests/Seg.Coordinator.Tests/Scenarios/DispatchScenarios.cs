using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Scenarios;

public sealed class FourInFlightFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Coordinator:MaxInFlight"] = "4" };
}

/// <summary>
/// The dispatcher keeps at most MaxInFlight (4) tasks queued or running, sends them in priority order with ties
/// first-in first-out, marks them queued, and wakes on submits and completions (its poll interval is a minute here);
/// succeeded events complete the sweeps; the summary's counts, progress, ETA and GPU seconds.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class DispatchScenarios<TDatabase>(FourInFlightFixture<TDatabase> app) : IClassFixture<FourInFlightFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task At_most_max_in_flight_are_sent_in_priority_order_then_fifo_and_marked_queued()
    {
        var low = await app.SubmitAsync("name: low\nmodel: tiny-sdxl\nprompts: [a cat]\nseeds: {start: 0, count: 6}\npriority: 0\n");

        var first = await app.Queue.TakeAsync(4);
        Assert.All(first, m => Assert.Equal(low, m.Message.SweepId));
        Assert.Equal([0L, 1, 2, 3], first.Select(m => m.Message.TaskIndex));
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));

        // The wire contract with the worker: MassTransit's message type, every resolved parameter, attempt 1.
        var definition = SweepParser.ParseYaml("model: tiny-sdxl\nprompts: [a cat]\nseeds: {start: 0, count: 6}\n").Definition!;
        foreach (var message in first)
        {
            Assert.Contains("urn:message:Seg.Contracts.Messages:RenderTask", message.MessageTypes);
            Assert.Equal(TaskIds.For(low, message.Message.TaskIndex), message.Message.TaskId);
            Assert.Equal(1, message.Message.Attempt);
            Assert.Equal(SweepExpander.TaskAt(low, definition, message.Message.TaskIndex).Parameters, message.Message.Parameters);
            Assert.Equal(message.Message.TaskId.ToString(), message.Envelope.GetProperty("correlationId").GetString());
        }

        await CoordinatorTestHost.EventuallyAsync(
            async () => await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == low && t.Status == RenderTaskStatus.Queued)) == 4,
            "4 tasks queued");
        var statuses = await app.WithDbAsync(db => db.RenderTasks.AsNoTracking().Where(t => t.SweepId == low).OrderBy(t => t.TaskIndex).Select(t => t.Status).ToListAsync());
        Assert.Equal([RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Queued, RenderTaskStatus.Pending, RenderTaskStatus.Pending], statuses);
        Assert.Equal("running", (await app.GetJsonAsync($"/api/sweeps/{low}")).GetProperty("status").GetString());
        var running = await app.SummaryAsync(low);
        Assert.Equal(SweepStatus.Running, running.Status);
        Assert.Equal(new TaskCounts(2, 4, 0, 0, 0, 0), running.Tasks);
        Assert.Null(running.EtaSeconds); // nothing has ended yet
        Assert.NotNull(running.StartedAt);

        // Nothing more while four are in flight, whatever their priority.
        var high = await app.SubmitAsync("name: high\nmodel: tiny-sdxl\nprompts: [a dog]\nseeds: [1, 2, 3]\npriority: 5\n");
        var later = await app.SubmitAsync("name: later\nmodel: tiny-sdxl\nprompts: [a bird]\nseeds: [1, 2]\npriority: 0\n");
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.5));

        // Four finish: the high-priority sweep goes first, then the older of the two equal ones.
        foreach (var message in first)
        {
            await app.Worker.SucceedAsync(message.Message);
        }

        var second = await app.Queue.TakeAsync(4);
        Assert.Equal([(high, 0L), (high, 1), (high, 2), (low, 4)], second.Select(m => (m.Message.SweepId, m.Message.TaskIndex)));
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));

        // ETA from the recent rate: 4 ended since the sweep started, 2 remain, so about half the time so far.
        var before = DateTimeOffset.UtcNow;
        var progress = await app.GetJsonAsync($"/api/sweeps/{low}");
        var after = DateTimeOffset.UtcNow;
        var started = progress.GetProperty("startedAt").GetDateTimeOffset();
        var eta = progress.GetProperty("etaSeconds").GetDouble();
        Assert.Equal(4.0 / 6, progress.GetProperty("progress").GetDouble(), 9);
        Assert.InRange(eta, (0.5 * (before - started).TotalSeconds) - 0.01, (0.5 * (after - started).TotalSeconds) + 0.01);
        var summary = await app.SummaryAsync(low);
        Assert.Equal(new TaskCounts(1, 1, 0, 4, 0, 0), summary.Tasks);
        Assert.Equal(4 * 1.5, summary.GpuSeconds, 9);

        foreach (var message in second)
        {
            await app.Worker.SucceedAsync(message.Message);
        }

        var third = await app.Queue.TakeAsync(3);
        Assert.Equal([(low, 5L), (later, 0), (later, 1)], third.Select(m => (m.Message.SweepId, m.Message.TaskIndex)));
        foreach (var message in third)
        {
            await app.Worker.SucceedAsync(message.Message, gpuSeconds: 2.0);
        }

        // Succeeded events complete each sweep once its last task has ended.
        var lowDone = await app.WaitForSweepStatusAsync(low, "succeeded");
        await app.WaitForSweepStatusAsync(high, "succeeded");
        var laterDone = await app.WaitForSweepStatusAsync(later, "succeeded");
        Assert.Equal(1.0, lowDone.GetProperty("progress").GetDouble());
        Assert.Equal(6, lowDone.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        Assert.Equal((5 * 1.5) + 2.0, lowDone.GetProperty("gpuSeconds").GetDouble(), 6);
        Assert.Equal(2 * 2.0, laterDone.GetProperty("gpuSeconds").GetDouble(), 6);
        Assert.NotEqual(JsonValueKind.Null, lowDone.GetProperty("finishedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, lowDone.GetProperty("startedAt").ValueKind);
        var lowSummary = await app.SummaryAsync(low);
        Assert.Equal(new TaskCounts(0, 0, 0, 6, 0, 0), lowSummary.Tasks);
        Assert.Equal((5 * 1.5) + 2.0, lowSummary.GpuSeconds, 9);
        Assert.Equal(2 * 2.0, (await app.SummaryAsync(later)).GpuSeconds, 9);
        Assert.Null(lowSummary.EtaSeconds);
        Assert.True(lowSummary.FinishedAt >= lowSummary.StartedAt);
        await app.Queue.AssertEmptyAsync(TimeSpan.FromSeconds(0.3));
    }
}

public sealed class DispatchOnPostgres(FourInFlightFixture<PostgresDatabase> app) : DispatchScenarios<PostgresDatabase>(app);

public sealed class DispatchOnSqlite(FourInFlightFixture<SqliteDatabase> app) : DispatchScenarios<SqliteDatabase>(app);
