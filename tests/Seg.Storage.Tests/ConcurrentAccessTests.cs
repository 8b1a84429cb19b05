using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;
using Seg.Storage.Workers;

namespace Seg.Storage.Tests;

public sealed class ConcurrentAccessPostgresTests(PostgresDatabaseFixture database)
    : ConcurrentAccessTests(database), IClassFixture<PostgresDatabaseFixture>;

public sealed class ConcurrentAccessSqliteTests(SqliteDatabaseFixture database)
    : ConcurrentAccessTests(database), IClassFixture<SqliteDatabaseFixture>;

/// <summary>
/// The standalone mode's situation: a coordinator and a worker in one process, each with its own
/// context, writing at the same time. SQLite serialises writers; they must wait, not fail with
/// "database is locked".
/// </summary>
public abstract class ConcurrentAccessTests(ITestDatabase database)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task A_coordinator_and_a_worker_write_at_the_same_time_without_lock_errors()
    {
        const int rendered = 150;
        const int sweeps = 4;
        const int tasksPerSweep = 5000;
        Guid renderedSweep;
        List<NewRenderTask> renderedTasks = [.. TestData.NewTasks(rendered)];
        await using (var db = database.CreateContext())
        {
            var sweep = TestData.NewSweep();
            renderedSweep = (await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, renderedTasks, None)).SweepId;
        }

        var submitted = new List<Guid>();
        var coordinator = Task.Run(async () =>
        {
            for (var i = 0; i < sweeps; i++)
            {
                await using var db = database.CreateContext();
                var result = await new TaskBulkWriter(db, TimeProvider.System)
                    .InsertSweepAsync(TestData.NewSweep(), TestData.NewTasks(tasksPerSweep), None);
                submitted.Add(result.SweepId);
                // A dispatch round's claim, as DispatchRound makes it.
                var claims = new DispatchClaims(db, TimeProvider.System);
                await using (var transaction = await db.Database.BeginTransactionAsync(None))
                {
                    var dispatchable = await claims.LockDispatchableSweepsAsync([.. await claims.CandidateSweepsAsync(100, None)], None);
                    await claims.ClaimAsync(dispatchable, 100, None);
                    await transaction.CommitAsync(None);
                }

                await new SweepTransitions(db, TimeProvider.System).TryMarkRunningAsync(result.SweepId, None);
            }
        });

        var worker = Task.Run(async () =>
        {
            var done = 0;
            foreach (var task in renderedTasks)
            {
                // A scope per message, as MassTransit consumers get.
                await using var db = database.CreateContext();
                var transitions = new TaskTransitions(db, TimeProvider.System);
                Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(task.Id, "worker-1", false, None));
                Assert.True(await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(TestData.NewImage(renderedSweep, task.Id), None));
                Assert.True(await transitions.TryMarkSucceededAsync(task.Id, 0.5, None));
                done++;
                if (done % 10 == 0)
                {
                    await new WorkerHeartbeatWriter(db, TimeProvider.System)
                        .UpsertAsync(new WorkerRecord { WorkerId = "worker-1", Host = "local", Slots = 1, TasksDone = done }, None);
                }
            }
        });

        await Task.WhenAll(coordinator, worker);

        await using var check = database.CreateContext();
        Assert.Equal(rendered, await check.RenderTasks.CountAsync(t => t.SweepId == renderedSweep && t.Status == RenderTaskStatus.Succeeded));
        Assert.Equal(rendered, await check.Images.CountAsync(i => i.SweepId == renderedSweep));
        Assert.Equal(rendered, (await check.Workers.SingleAsync(w => w.WorkerId == "worker-1")).TasksDone);
        Assert.Equal(sweeps, submitted.Count);
        Assert.Equal(sweeps * tasksPerSweep, await check.RenderTasks.CountAsync(t => submitted.Contains(t.SweepId)));
        Assert.Equal(SweepStatus.Succeeded, await new SweepTransitions(check, TimeProvider.System).TryCompleteAsync(renderedSweep, None));
    }

    [Fact]
    public async Task Transactions_that_read_before_they_write_wait_for_each_other()
    {
        var sweep = TestData.NewSweep();
        await using (var db = database.CreateContext())
        {
            await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, TestData.NewTasks(1), None);
        }

        // As a dispatch round does: read (or lock) rows, then write, in one transaction. On SQLite this
        // works because transactions begin IMMEDIATE: a deferred one fails with "database is locked" once
        // the other thread commits between its read and its write.
        async Task BumpAsync(int times)
        {
            for (var i = 0; i < times; i++)
            {
                await using var db = database.CreateContext();
                await using var transaction = await db.Database.BeginTransactionAsync(None);
                var open = await db.Sweeps.Where(s => s.Id == sweep.Id).Select(s => s.Status).SingleAsync(None);

                // Long enough for the other thread to commit in between.
                await Task.Delay(5, None);
                await db.Sweeps.Where(s => s.Id == sweep.Id && s.Status == open)
                    .ExecuteUpdateAsync(s => s.SetProperty(x => x.Priority, x => x.Priority + 1), None);
                await transaction.CommitAsync(None);
            }
        }

        await Task.WhenAll(Task.Run(() => BumpAsync(25)), Task.Run(() => BumpAsync(25)));

        await using var check = database.CreateContext();
        Assert.Equal(50, (await check.Sweeps.AsNoTracking().SingleAsync(s => s.Id == sweep.Id)).Priority);
    }

    [Fact]
    public async Task A_cancel_racing_a_working_worker_leaves_every_task_either_cancelled_or_rendered()
    {
        const int count = 300;
        var tasks = TestData.NewTasks(count).ToList();
        var sweep = TestData.NewSweep();
        await using (var db = database.CreateContext())
        {
            await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, tasks, None);
        }

        using var firstRendered = new SemaphoreSlim(0);
        var worker = Task.Run(async () =>
        {
            var outcomes = new List<TaskStartOutcome>();
            foreach (var task in tasks)
            {
                await using var db = database.CreateContext();
                var transitions = new TaskTransitions(db, TimeProvider.System);
                var outcome = await transitions.TryStartAsync(task.Id, "worker-1", false, None);
                outcomes.Add(outcome);
                if (outcome == TaskStartOutcome.Started)
                {
                    Assert.True(await transitions.TryMarkSucceededAsync(task.Id, 0.1, None));
                    if (task.TaskIndex == 20)
                    {
                        firstRendered.Release();
                    }
                }
            }

            return outcomes;
        });

        var coordinator = Task.Run(async () =>
        {
            await firstRendered.WaitAsync(TimeSpan.FromSeconds(30));
            await using var db = database.CreateContext();
            return await new SweepTransitions(db, TimeProvider.System).TryCancelAsync(sweep.Id, None);
        });

        var outcomes = await worker;
        var cancelled = await coordinator;

        var started = outcomes.Count(o => o == TaskStartOutcome.Started);
        Assert.Equal(count, started + outcomes.Count(o => o == TaskStartOutcome.AlreadyEnded));
        Assert.NotNull(cancelled);
        Assert.InRange(started, 21, count);
        await using var check = database.CreateContext();
        var counts = await new TaskTransitions(check, TimeProvider.System).CountByStatusAsync(sweep.Id, None);
        Assert.Equal(started, counts[RenderTaskStatus.Succeeded]);
        // The worker may finish every task before the cancel lands: then nothing is left to cancel.
        Assert.Equal(cancelled, counts.GetValueOrDefault(RenderTaskStatus.Cancelled));
        Assert.Equal(count, counts.Values.Sum());
    }
}
