using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

public sealed class SweepCounterPostgresTests(PostgresDatabaseFixture database)
    : SweepCounterTests(database), IClassFixture<PostgresDatabaseFixture>;

public sealed class SweepCounterSqliteTests(SqliteDatabaseFixture database)
    : SweepCounterTests(database), IClassFixture<SqliteDatabaseFixture>;

/// <summary>
/// The per-sweep counters the triggers keep equal what counting the tasks gives, after every kind of transition:
/// insert, claim, start, succeed, fail, release, resend, requeue, cancel and delete; on PostgreSQL and on SQLite.
/// </summary>
public abstract class SweepCounterTests(ITestDatabase database)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Counters_equal_a_count_of_the_tasks_after_mixed_transitions()
    {
        var first = await NewSweepAsync(12);
        var second = await NewSweepAsync(5);
        await AssertCountersAsync(first, second);

        await using (var db = database.CreateContext())
        {
            var claims = new DispatchClaims(db, TimeProvider.System);
            var transitions = new TaskTransitions(db, TimeProvider.System);
            var claimed = await claims.ClaimAsync([first, second], 9, None);
            Assert.Equal(9, claimed.Count);
            var started = claimed.Where(t => t.SweepId == first).Take(6).ToList();
            foreach (var task in started)
            {
                Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(task.Id, "w1", false, None));
            }

            Assert.True(await transitions.TryMarkSucceededAsync(started[0].Id, 2.5, None));
            Assert.True(await transitions.TryMarkSucceededAsync(started[1].Id, 1.25, None));
            Assert.False(await transitions.TryMarkSucceededAsync(started[1].Id, 9, None)); // a repeat changes nothing
            Assert.True(await transitions.TryMarkFailedAsync(started[2].Id, "broken", 0.5, None));
            Assert.True(await transitions.TryMarkFailedAsync(started[3].Id, "broken", 0, None));
            Assert.True(await transitions.TryReleaseAsync(started[4].Id, "w1", "drained", None, refundAttempt: true));
            // Every queued task's message counts as lost: sent again, twice.
            Assert.NotEmpty(await claims.ClaimUnstartedAsync(DateTimeOffset.UtcNow.AddSeconds(1), 100, None));
            Assert.NotEmpty(await claims.ClaimUnstartedAsync(DateTimeOffset.UtcNow.AddSeconds(1), 100, None));
            Assert.Equal(
                await db.RenderTasks.CountAsync(t => t.Status == RenderTaskStatus.Queued || t.Status == RenderTaskStatus.Running),
                await claims.CountInFlightAsync(None));
        }

        await AssertCountersAsync(first, second);

        await using (var db = database.CreateContext())
        {
            var sweeps = new SweepTransitions(db, TimeProvider.System);
            Assert.Equal(2, await sweeps.RequeueFailedAsync(first, None));
            Assert.NotNull(await sweeps.TryCancelAsync(second, None));
            await db.RenderTasks.Where(t => t.SweepId == first && t.TaskIndex == 11).ExecuteDeleteAsync();
            Assert.Equal(3.75 + 0.5, await sweeps.GpuSecondsAsync(first, None), 9);
        }

        await AssertCountersAsync(first, second);
    }

    private async Task AssertCountersAsync(params Guid[] sweepIds)
    {
        await using var db = database.CreateContext();
        foreach (var sweepId in sweepIds)
        {
            var counters = await db.SweepCounters.AsNoTracking().SingleAsync(c => c.SweepId == sweepId);
            var counted = await db.RenderTasks.AsNoTracking().Where(t => t.SweepId == sweepId)
                .GroupBy(t => t.Status).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count);
            foreach (var status in Enum.GetValues<RenderTaskStatus>())
            {
                Assert.True(counted.GetValueOrDefault(status) == counters.Of(status),
                    $"sweep {sweepId}: {status} counted {counted.GetValueOrDefault(status)}, counter {counters.Of(status)}");
            }

            Assert.Equal(await db.RenderTasks.Where(t => t.SweepId == sweepId).SumAsync(t => t.Resends), counters.Resends);
            Assert.Equal(await db.RenderTasks.Where(t => t.SweepId == sweepId).SumAsync(t => t.GpuSeconds), counters.GpuSeconds, 9);
        }
    }

    private async Task<Guid> NewSweepAsync(int count)
    {
        await using var db = database.CreateContext();
        var sweep = TestData.NewSweep();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, TestData.NewTasks(count).ToList(), None);
        return sweep.Id;
    }
}
