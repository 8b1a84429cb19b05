using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Tests.Sqlite;
using Seg.Storage;

namespace Seg.Coordinator.Tests;

public sealed class LowFloorFixture : CoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => StuckMedianScenario.Settings;
}

public sealed class LowFloorSqliteFixture : SqliteCoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => StuckMedianScenario.Settings;
}

/// <summary>The stuck-task limit is the factor times the median of the sweep's renders, on PostgreSQL (percentile_cont).</summary>
public sealed class StuckMedianPostgresTests(LowFloorFixture app) : IClassFixture<LowFloorFixture>
{
    [Fact]
    public Task The_limit_is_five_times_the_interpolated_median_render() =>
        StuckMedianScenario.RunAsync(app.Services, app.Worker, app.SubmitAsync, async count => [.. (await app.Queue.TakeAsync(count)).Select(m => m.Message)]);
}

/// <summary>The same on SQLite (window functions over julianday durations).</summary>
public sealed class StuckMedianSqliteTests(LowFloorSqliteFixture app) : IClassFixture<LowFloorSqliteFixture>
{
    [Fact]
    public Task The_limit_is_five_times_the_interpolated_median_render() =>
        StuckMedianScenario.RunAsync(app.Services, app.Worker, yaml => app.SubmitAsync(yaml), count => app.Inbox.TakeAsync(count));
}

/// <summary>
/// Renders of 10, 20, 30 and 40 s: the median is 25 s (the mean of the middle two, as percentile_cont(0.5)), so with
/// factor 5 a task is stuck after 125 s. One more render of 1000 s makes the median 30 s (the middle one): 150 s.
/// </summary>
public static class StuckMedianScenario
{
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Coordinator:StuckTaskFactor"] = "5",
        ["Coordinator:StuckTaskFloorSeconds"] = "1",
    };

    public static async Task RunAsync(
        IServiceProvider services,
        WorkerSimulator worker,
        Func<string, Task<Guid>> submit,
        Func<int, Task<IReadOnlyList<RenderTask>>> take)
    {
        var sweep = await submit("model: m\nprompts: [median]\nseeds: {start: 0, count: 7}\n");
        var sent = (await take(7)).OrderBy(m => m.TaskIndex).ToList();
        var now = DateTimeOffset.UtcNow;
        double[] renders = [10, 20, 30, 40];
        for (var i = 0; i < renders.Length; i++)
        {
            await worker.SucceedAsync(sent[i]);
            await SetTimesAsync(services, sent[i].TaskId, now.AddSeconds(-1000 - renders[i]), now.AddSeconds(-1000));
        }

        await worker.StartAsync(sent[4].TaskId, "worker-a");
        await worker.StartAsync(sent[5].TaskId, "worker-b");
        await SetTimesAsync(services, sent[4].TaskId, now.AddSeconds(-130), null);
        await SetTimesAsync(services, sent[5].TaskId, now.AddSeconds(-120), null);

        var stuck = Assert.Single(await FindAsync(services, sweep));
        Assert.Equal(sent[4].TaskId, stuck.TaskId);
        Assert.Equal(125, stuck.ExpectedSeconds, 2);
        Assert.InRange(stuck.RunningSeconds, 130, 135);

        await worker.SucceedAsync(sent[6]);
        await SetTimesAsync(services, sent[6].TaskId, now.AddSeconds(-2000), now.AddSeconds(-1000));
        await SetTimesAsync(services, sent[4].TaskId, now.AddSeconds(-140), null);
        await SetTimesAsync(services, sent[5].TaskId, now.AddSeconds(-155), null);

        stuck = Assert.Single(await FindAsync(services, sweep));
        Assert.Equal(sent[5].TaskId, stuck.TaskId);
        Assert.Equal(150, stuck.ExpectedSeconds, 2);
        Assert.Equal([sent[5].TaskId], (await FindAsync(services, null)).Select(t => t.TaskId));
    }

    private static async Task<IReadOnlyList<StuckTask>> FindAsync(IServiceProvider services, Guid? sweepId)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<StuckTaskQuery>().FindAsync(sweepId, CancellationToken.None);
    }

    private static async Task SetTimesAsync(IServiceProvider services, Guid taskId, DateTimeOffset startedAt, DateTimeOffset? finishedAt)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        Assert.Equal(1, await db.RenderTasks.Where(t => t.Id == taskId)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, startedAt).SetProperty(t => t.FinishedAt, finishedAt)));
    }
}
