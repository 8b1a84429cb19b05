using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;
using Seg.Storage.Workers;

namespace Seg.Storage.Tests;

public sealed class TransitionPostgresTests(PostgresDatabaseFixture database)
    : TransitionTests(database), IClassFixture<PostgresDatabaseFixture>;

public sealed class TransitionSqliteTests(SqliteDatabaseFixture database)
    : TransitionTests(database), IClassFixture<SqliteDatabaseFixture>;

/// <summary>Task and sweep transitions and heartbeats, run on PostgreSQL and on SQLite.</summary>
public abstract class TransitionTests(ITestDatabase database)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Queued_only_from_pending()
    {
        var (_, tasks) = await NewSweepAsync(3);
        await using var db = database.CreateContext();
        var transitions = new TaskTransitions(db, TimeProvider.System);

        Assert.True(await transitions.TryMarkQueuedAsync(tasks[0], None));
        Assert.False(await transitions.TryMarkQueuedAsync(tasks[0], None));
        Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(tasks[1], "w1", false, None));
        Assert.False(await transitions.TryMarkQueuedAsync(tasks[1], None));
        Assert.Equal(1, await transitions.MarkQueuedAsync([tasks[0], tasks[1], tasks[2], Guid.NewGuid()], None));

        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal(RenderTaskStatus.Queued, row.Status);
        Assert.NotNull(row.QueuedAt);
    }

    [Fact]
    public async Task Concurrent_starts_let_exactly_one_worker_run_a_task()
    {
        var (_, tasks) = await NewSweepAsync(1);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            await using var db = database.CreateContext();
            return await new TaskTransitions(db, TimeProvider.System).TryStartAsync(tasks[0], $"worker-{i}", false, None);
        }));

        Assert.Single(outcomes, o => o == TaskStartOutcome.Started);
        Assert.All(outcomes.Where(o => o != TaskStartOutcome.Started), o => Assert.Equal(TaskStartOutcome.RunningElsewhere, o));
        await using var check = database.CreateContext();
        var row = await check.RenderTasks.SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal(1, row.Attempts);
        Assert.Equal(RenderTaskStatus.Running, row.Status);
        Assert.StartsWith("worker-", row.WorkerId);
    }

    [Fact]
    public async Task Succeeded_only_once_and_final_states_stay_final()
    {
        var (_, tasks) = await NewSweepAsync(1);
        await using var db = database.CreateContext();
        var transitions = new TaskTransitions(db, TimeProvider.System);
        Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(tasks[0], "w1", false, None));

        Assert.True(await transitions.TryMarkSucceededAsync(tasks[0], 2.5, None));
        Assert.False(await transitions.TryMarkSucceededAsync(tasks[0], 2.5, None));
        Assert.False(await transitions.TryMarkFailedAsync(tasks[0], "late failure", 1, None));
        Assert.Equal(TaskStartOutcome.AlreadyEnded, await transitions.TryStartAsync(tasks[0], "w2", true, None));

        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal(RenderTaskStatus.Succeeded, row.Status);
        Assert.Equal(2.5, row.GpuSeconds);
        Assert.Null(row.LastError);
        Assert.NotNull(row.FinishedAt);
    }

    [Fact]
    public async Task Concurrent_completions_count_once()
    {
        var (_, tasks) = await NewSweepAsync(1);
        await using (var db = database.CreateContext())
        {
            await new TaskTransitions(db, TimeProvider.System).TryStartAsync(tasks[0], "w1", false, None);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            await using var db = database.CreateContext();
            var transitions = new TaskTransitions(db, TimeProvider.System);
            return i % 2 == 0
                ? await transitions.TryMarkSucceededAsync(tasks[0], 1.0, None)
                : await transitions.TryMarkFailedAsync(tasks[0], "boom", 1.0, None);
        }));

        Assert.Single(results, r => r);
        await using var check = database.CreateContext();
        Assert.Equal(1.0, (await check.RenderTasks.SingleAsync(t => t.Id == tasks[0])).GpuSeconds);
    }

    [Fact]
    public async Task A_running_task_is_taken_over_only_when_asked_and_attempts_are_capped()
    {
        var (_, tasks) = await NewSweepAsync(1, maxAttempts: 2);
        await using var db = database.CreateContext();
        var transitions = new TaskTransitions(db, TimeProvider.System);

        Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(tasks[0], "w1", false, None));
        Assert.Equal(TaskStartOutcome.RunningElsewhere, await transitions.TryStartAsync(tasks[0], "w2", false, None));
        Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(tasks[0], "w2", true, None));
        Assert.Equal(TaskStartOutcome.AttemptsExhausted, await transitions.TryStartAsync(tasks[0], "w3", true, None));

        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal(RenderTaskStatus.Failed, row.Status);
        Assert.Equal(2, row.Attempts);
        Assert.Equal("attempts exhausted (2 of max_attempts 2)", row.LastError);
        Assert.Equal(TaskStartOutcome.NotFound, await transitions.TryStartAsync(Guid.NewGuid(), "w1", false, None));
    }

    [Fact]
    public async Task A_start_tells_its_attempt_number_and_stores_what_the_model_reads_back()
    {
        var (_, tasks) = await NewSweepAsync(1, maxAttempts: 3);
        var clock = new FixedClock(new DateTimeOffset(2026, 11, 27, 10, 30, 15, 123, TimeSpan.Zero).AddTicks(4560));
        await using var db = database.CreateContext();
        var transitions = new TaskTransitions(db, clock);

        var first = await transitions.StartAsync(tasks[0], "w1", false, None);
        Assert.Equal(new TaskStart(TaskStartOutcome.Started, 1), first);
        Assert.True(first.IsFirstAttempt);
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal((RenderTaskStatus.Running, 1, "w1", clock.Now, (DateTimeOffset?)null), (row.Status, row.Attempts, row.WorkerId, row.StartedAt, row.FinishedAt));
        // The stored status is the one EF queries by.
        Assert.Equal(1, await db.RenderTasks.CountAsync(t => t.Id == tasks[0] && t.Status == RenderTaskStatus.Running));

        Assert.Equal(new TaskStart(TaskStartOutcome.RunningElsewhere), await transitions.StartAsync(tasks[0], "w2", false, None));
        var takeOver = await transitions.StartAsync(tasks[0], "w2", true, None);
        Assert.Equal(new TaskStart(TaskStartOutcome.Started, 2), takeOver);
        Assert.False(takeOver.IsFirstAttempt);

        // A drained worker's refund makes the next start count as the second attempt again, not the third.
        Assert.True(await transitions.TryReleaseAsync(tasks[0], "w2", "draining", None, refundAttempt: true));
        Assert.Equal(new TaskStart(TaskStartOutcome.Started, 2), await transitions.StartAsync(tasks[0], "w3", false, None));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task Release_returns_only_the_callers_running_task_to_the_queue()
    {
        var (_, tasks) = await NewSweepAsync(1);
        await using var db = database.CreateContext();
        var transitions = new TaskTransitions(db, TimeProvider.System);
        await transitions.TryStartAsync(tasks[0], "w1", false, None);

        Assert.False(await transitions.TryReleaseAsync(tasks[0], "w2", "draining", None));
        Assert.True(await transitions.TryReleaseAsync(tasks[0], "w1", "draining", None));
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[0]);
        Assert.Equal(RenderTaskStatus.Queued, row.Status);
        Assert.Equal("draining", row.LastError);
    }

    [Fact]
    public async Task Sweep_completes_as_succeeded_or_failed_when_all_tasks_end_and_failed_tasks_requeue()
    {
        var (sweepId, tasks) = await NewSweepAsync(3);
        await using var db = database.CreateContext();
        var taskTransitions = new TaskTransitions(db, TimeProvider.System);
        var sweeps = new SweepTransitions(db, TimeProvider.System);

        Assert.True(await sweeps.TryMarkRunningAsync(sweepId, None));
        foreach (var id in tasks)
        {
            await taskTransitions.TryStartAsync(id, "w1", false, None);
        }

        await taskTransitions.TryMarkSucceededAsync(tasks[0], 1, None);
        await taskTransitions.TryMarkFailedAsync(tasks[1], "bad model", 1, None);
        Assert.Null(await sweeps.TryCompleteAsync(sweepId, None));
        await taskTransitions.TryMarkSucceededAsync(tasks[2], 1.5, None);

        Assert.Equal(SweepStatus.Failed, await sweeps.TryCompleteAsync(sweepId, None));
        Assert.Null(await sweeps.TryCompleteAsync(sweepId, None));
        Assert.Equal(3.5, await sweeps.GpuSecondsAsync(sweepId, None));
        var counts = await taskTransitions.CountByStatusAsync(sweepId, None);
        Assert.Equal(2, counts[RenderTaskStatus.Succeeded]);
        Assert.Equal(1, counts[RenderTaskStatus.Failed]);

        Assert.Equal(1, await sweeps.RequeueFailedAsync(sweepId, None));
        Assert.Equal(SweepStatus.Running, (await db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == sweepId)).Status);
        Assert.Equal(TaskStartOutcome.Started, await taskTransitions.TryStartAsync(tasks[1], "w2", false, None));
        await taskTransitions.TryMarkSucceededAsync(tasks[1], 1, None);
        Assert.Equal(SweepStatus.Succeeded, await sweeps.TryCompleteAsync(sweepId, None));
        Assert.NotNull((await db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == sweepId)).FinishedAt);
    }

    [Fact]
    public async Task Requeue_skips_tasks_out_of_attempts()
    {
        var (sweepId, tasks) = await NewSweepAsync(1, maxAttempts: 1);
        await using var db = database.CreateContext();
        var taskTransitions = new TaskTransitions(db, TimeProvider.System);
        await taskTransitions.TryStartAsync(tasks[0], "w1", false, None);
        await taskTransitions.TryMarkFailedAsync(tasks[0], "bad", 0, None);

        Assert.Equal(0, await new SweepTransitions(db, TimeProvider.System).RequeueFailedAsync(sweepId, None));
    }

    [Fact]
    public async Task Cancel_cancels_pending_and_queued_tasks_and_workers_then_skip_them()
    {
        var (sweepId, tasks) = await NewSweepAsync(4);
        await using var db = database.CreateContext();
        var taskTransitions = new TaskTransitions(db, TimeProvider.System);
        var sweeps = new SweepTransitions(db, TimeProvider.System);
        await taskTransitions.TryMarkQueuedAsync(tasks[0], None);
        await taskTransitions.TryStartAsync(tasks[1], "w1", false, None);

        Assert.Equal(3, await sweeps.TryCancelAsync(sweepId, None));
        Assert.Null(await sweeps.TryCancelAsync(sweepId, None));
        Assert.Equal(TaskStartOutcome.AlreadyEnded, await taskTransitions.TryStartAsync(tasks[0], "w2", false, None));
        Assert.True(await taskTransitions.TryMarkSucceededAsync(tasks[1], 1, None));
        Assert.Null(await sweeps.TryCompleteAsync(sweepId, None));
        Assert.Equal(SweepStatus.Cancelled, (await db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == sweepId)).Status);
        Assert.False(await sweeps.TryResumeAsync(sweepId, None));
    }

    [Fact]
    public async Task Dispatch_order_is_priority_then_fifo_and_skips_paused_sweeps()
    {
        // The dispatch query sees every sweep of this database: clear the table first.
        await using var db = database.CreateContext();
        await db.Sweeps.ExecuteDeleteAsync();
        var (low, lowTasks) = await NewSweepAsync(2, priority: 1);
        var (high, highTasks) = await NewSweepAsync(2, priority: 5);
        var (paused, _) = await NewSweepAsync(2, priority: 9);
        var (laterLow, laterLowTasks) = await NewSweepAsync(1, priority: 1);
        var sweeps = new SweepTransitions(db, TimeProvider.System);
        Assert.True(await sweeps.TryPauseAsync(paused, None));
        Assert.False(await sweeps.TryPauseAsync(paused, None));
        var transitions = new TaskTransitions(db, TimeProvider.System);
        await transitions.TryMarkQueuedAsync(highTasks[0], None);

        // The dispatcher's steps (DispatchRound): candidate sweeps, those locked as dispatchable, the claim.
        var claims = new DispatchClaims(db, TimeProvider.System);
        async Task<IReadOnlyList<RenderTaskRecord>> ClaimAsync(int limit)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(None);
            var sweepIds = await claims.LockDispatchableSweepsAsync([.. await claims.CandidateSweepsAsync(limit, None)], None);
            var claimed = await claims.ClaimAsync(sweepIds, limit, None);
            await transaction.CommitAsync(None);
            return claimed;
        }

        var candidates = await ClaimAsync(10);

        Assert.Equal([highTasks[1], lowTasks[0], lowTasks[1], laterLowTasks[0]], candidates.Select(t => t.Id));
        Assert.True(await sweeps.TryResumeAsync(paused, None));
        Assert.Equal(9, (await ClaimAsync(1)).Single().Priority);
        Assert.NotEqual(low, high);
        Assert.NotEqual(low, laterLow);
    }

    [Fact]
    public async Task Worker_heartbeat_upserts_and_keeps_first_seen()
    {
        await using var db = database.CreateContext();
        var writer = new WorkerHeartbeatWriter(db, TimeProvider.System);
        var first = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
        await writer.UpsertAsync(new WorkerRecord { WorkerId = "gpu-pod-1", Host = "node-a", Slots = 2, DevicesJson = """["cuda:0","cuda:1"]""", LastHeartbeatAt = first }, None);
        await writer.UpsertAsync(new WorkerRecord { WorkerId = "gpu-pod-1", Host = "node-a", Slots = 2, Busy = 1, TasksDone = 10, ImagesPerMinute = 3.5, LastHeartbeatAt = first.AddMinutes(1) }, None);

        var row = await db.Workers.AsNoTracking().SingleAsync(w => w.WorkerId == "gpu-pod-1");
        Assert.Equal(first, row.FirstSeenAt);
        Assert.Equal(first.AddMinutes(1), row.LastHeartbeatAt);
        Assert.Equal(1, row.Busy);
        Assert.Equal(10, row.TasksDone);
        Assert.Equal("[]", row.DevicesJson);
    }

    private async Task<(Guid SweepId, List<Guid> TaskIds)> NewSweepAsync(int count, int priority = 0, int maxAttempts = 3)
    {
        await using var db = database.CreateContext();
        var sweep = TestData.NewSweep(priority: priority, maxAttempts: maxAttempts);
        var tasks = TestData.NewTasks(count).ToList();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, tasks, CancellationToken.None);
        return (sweep.Id, tasks.Select(t => t.Id).ToList());
    }
}
