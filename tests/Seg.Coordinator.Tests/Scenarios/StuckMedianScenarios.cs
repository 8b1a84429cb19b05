using Microsoft.EntityFrameworkCore;
using Seg.Coordinator.Monitoring;

namespace Seg.Coordinator.Tests.Scenarios;

public sealed class LowFloorFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new()
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:StuckTaskFactor"] = "5",
        ["Coordinator:StuckTaskFloorSeconds"] = "1",
    };
}

/// <summary>
/// The stuck-task limit is the factor times the median of the sweep's renders, on PostgreSQL (percentile_cont) and on
/// SQLite (window functions over julianday durations). Renders of 10, 20, 30 and 40 s: the median is 25 s (the mean of
/// the middle two, as percentile_cont(0.5)), so with factor 5 a task is stuck after 125 s. One more render of 1000 s
/// makes the median 30 s (the middle one): 150 s.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class StuckMedianScenarios<TDatabase>(LowFloorFixture<TDatabase> app) : IClassFixture<LowFloorFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    [Fact]
    public async Task The_limit_is_five_times_the_interpolated_median_render()
    {
        var worker = app.Worker;
        var sweep = await app.SubmitAsync("model: m\nprompts: [median]\nseeds: {start: 0, count: 7}\n");
        var sent = (await app.Queue.TakeAsync(7)).Select(m => m.Message).OrderBy(m => m.TaskIndex).ToList();
        var now = DateTimeOffset.UtcNow;
        double[] renders = [10, 20, 30, 40];
        for (var i = 0; i < renders.Length; i++)
        {
            await worker.SucceedAsync(sent[i]);
            await SetTimesAsync(sent[i].TaskId, now.AddSeconds(-1000 - renders[i]), now.AddSeconds(-1000));
        }

        await worker.StartAsync(sent[4].TaskId, "worker-a");
        await worker.StartAsync(sent[5].TaskId, "worker-b");
        await SetTimesAsync(sent[4].TaskId, now.AddSeconds(-130), null);
        await SetTimesAsync(sent[5].TaskId, now.AddSeconds(-120), null);

        var stuck = Assert.Single(await FindAsync(sweep));
        Assert.Equal(sent[4].TaskId, stuck.TaskId);
        Assert.Equal(125, stuck.ExpectedSeconds, 2);
        Assert.InRange(stuck.RunningSeconds, 130, 135);

        await worker.SucceedAsync(sent[6]);
        await SetTimesAsync(sent[6].TaskId, now.AddSeconds(-2000), now.AddSeconds(-1000));
        await SetTimesAsync(sent[4].TaskId, now.AddSeconds(-140), null);
        await SetTimesAsync(sent[5].TaskId, now.AddSeconds(-155), null);

        stuck = Assert.Single(await FindAsync(sweep));
        Assert.Equal(sent[5].TaskId, stuck.TaskId);
        Assert.Equal(150, stuck.ExpectedSeconds, 2);
        Assert.Equal([sent[5].TaskId], (await FindAsync(null)).Select(t => t.TaskId));
    }

    private Task<IReadOnlyList<StuckTask>> FindAsync(Guid? sweepId) =>
        app.WithAsync<StuckTaskQuery, IReadOnlyList<StuckTask>>(q => q.FindAsync(sweepId, CancellationToken.None));

    private async Task SetTimesAsync(Guid taskId, DateTimeOffset startedAt, DateTimeOffset? finishedAt) =>
        Assert.Equal(1, await app.WithDbAsync(db => db.RenderTasks.Where(t => t.Id == taskId)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, startedAt).SetProperty(t => t.FinishedAt, finishedAt))));
}

public sealed class StuckMedianOnPostgres(LowFloorFixture<PostgresDatabase> app) : StuckMedianScenarios<PostgresDatabase>(app);

public sealed class StuckMedianOnSqlite(LowFloorFixture<SqliteDatabase> app) : StuckMedianScenarios<SqliteDatabase>(app);
