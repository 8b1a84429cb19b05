using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;
using Xunit.Abstractions;

namespace Seg.Storage.Tests;

public sealed class TaskBulkWriterPostgresTests(PostgresDatabaseFixture database, ITestOutputHelper output)
    : TaskBulkWriterTests(database, output), IClassFixture<PostgresDatabaseFixture>;

public sealed class TaskBulkWriterSqliteTests(SqliteDatabaseFixture database, ITestOutputHelper output)
    : TaskBulkWriterTests(database, output), IClassFixture<SqliteDatabaseFixture>;

/// <summary>The bulk writer's contract, run on PostgreSQL (COPY) and on SQLite (prepared INSERT).</summary>
public abstract class TaskBulkWriterTests(ITestDatabase database, ITestOutputHelper output)
{
    [Fact]
    public async Task Stores_100000_tasks_in_one_sweep_in_one_transaction()
    {
        const int count = 100_000;
        var sweep = TestData.NewSweep(priority: 7);
        await using var db = database.CreateContext();
        var writer = new TaskBulkWriter(db, TimeProvider.System);

        // What the task stream itself costs (JSON per task), to tell it apart from the database's share.
        var generation = Stopwatch.StartNew();
        Assert.Equal(count, TestData.NewTasks(count).Count());
        generation.Stop();

        var watch = Stopwatch.StartNew();
        var result = await writer.InsertSweepAsync(sweep, TestData.NewTasks(count), CancellationToken.None);
        watch.Stop();
        var method = database.Provider == SegDatabaseProvider.Sqlite ? "prepared INSERT" : "COPY";
        var report = $"[Seg.Storage] {database.Provider}: sweep + {count} tasks by {method} in one transaction: {watch.Elapsed.TotalSeconds:F2} s " +
            $"(of which building the task stream: {generation.Elapsed.TotalSeconds:F2} s)";
        output.WriteLine(report);
        Console.WriteLine(report);

        Assert.Equal(new SweepInsertResult(sweep.Id, true, count), result);
        // The time is reported, not asserted: speed is measured by the farm benchmark (docs/performance.md), not by a
        // unit test on a shared machine.
        await using var check = database.CreateContext();
        Assert.Equal(count, await check.RenderTasks.CountAsync(t => t.SweepId == sweep.Id));
        Assert.Equal(count, await check.RenderTasks.CountAsync(t => t.SweepId == sweep.Id && t.Status == RenderTaskStatus.Pending && t.Priority == 7));
        var stored = await check.Sweeps.SingleAsync(s => s.Id == sweep.Id);
        Assert.Equal(count, stored.TaskCount);
        Assert.Equal(SweepStatus.Pending, stored.Status);
        var last = await check.RenderTasks.SingleAsync(t => t.SweepId == sweep.Id && t.TaskIndex == count - 1);
        Assert.Equal("tiny-sdxl", last.Model);
        Assert.Equal(stored.CreatedAt, last.CreatedAt);
        Assert.Equal(0, last.Attempts);
        Assert.Null(last.QueuedAt);
    }

    [Fact]
    public async Task A_duplicate_task_id_writes_neither_sweep_nor_tasks()
    {
        var sweep = TestData.NewSweep();
        var tasks = TestData.NewTasks(1000).ToList();
        tasks[900] = tasks[900] with { Id = tasks[10].Id };
        await using var db = database.CreateContext();

        var error = await Assert.ThrowsAnyAsync<DbException>(() =>
            new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, tasks, CancellationToken.None));

        DatabaseErrors.AssertDuplicateKey(error);
        await AssertNothingStoredAsync(sweep.Id, tasks.Select(t => t.Id));
    }

    [Fact]
    public async Task A_task_stream_that_throws_midway_writes_nothing()
    {
        var sweep = TestData.NewSweep();
        static IEnumerable<NewRenderTask> Broken()
        {
            foreach (var task in TestData.NewTasks(500))
            {
                yield return task;
            }

            throw new InvalidOperationException("expansion failed");
        }

        await using var db = database.CreateContext();
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, Broken(), CancellationToken.None));

        await AssertNothingStoredAsync(sweep.Id, []);

        // The same context still works after the rollback.
        var again = TestData.NewSweep();
        var result = await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(again, TestData.NewTasks(3), CancellationToken.None);
        Assert.Equal(3, result.TaskCount);
    }

    [Fact]
    public async Task Cancellation_midway_writes_nothing()
    {
        var sweep = TestData.NewSweep();
        using var cancel = new CancellationTokenSource();
        IEnumerable<NewRenderTask> CancelledAfter300()
        {
            foreach (var task in TestData.NewTasks(1000))
            {
                if (task.TaskIndex == 300)
                {
                    cancel.Cancel();
                }

                yield return task;
            }
        }

        await using var db = database.CreateContext();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, CancelledAfter300(), cancel.Token));

        await AssertNothingStoredAsync(sweep.Id, []);
    }

    [Fact]
    public async Task An_invalid_task_is_refused_by_name_and_nothing_is_written()
    {
        var sweep = TestData.NewSweep();
        var tasks = TestData.NewTasks(20).ToList();
        tasks[15] = tasks[15] with { Model = " " };
        await using var db = database.CreateContext();

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, tasks, CancellationToken.None));

        Assert.Contains("model must not be empty (task_index 15)", error.Message);
        await AssertNothingStoredAsync(sweep.Id, tasks.Select(t => t.Id));
    }

    [Fact]
    public async Task A_repeated_idempotency_key_returns_the_first_sweep()
    {
        var key = "submit-" + Guid.NewGuid();
        await using var db = database.CreateContext();
        var writer = new TaskBulkWriter(db, TimeProvider.System);
        var first = await writer.InsertSweepAsync(TestData.NewSweep(idempotencyKey: key), TestData.NewTasks(4), CancellationToken.None);

        var second = TestData.NewSweep(idempotencyKey: key);
        var repeat = await writer.InsertSweepAsync(second, TestData.NewTasks(9), CancellationToken.None);

        // The first sweep's fingerprint comes back, so the caller can tell a retry from another sweep under the same key.
        Assert.Equal(new SweepInsertResult(first.SweepId, false, 4) { ExistingDefinitionSha256 = TestData.DefinitionSha256 }, repeat);
        await AssertNothingStoredAsync(second.Id, []);
    }

    [Fact]
    public async Task Racing_submits_with_one_idempotency_key_store_one_sweep()
    {
        var key = "race-" + Guid.NewGuid();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var db = database.CreateContext();
            return await new TaskBulkWriter(db, TimeProvider.System)
                .InsertSweepAsync(TestData.NewSweep(idempotencyKey: key), TestData.NewTasks(50), CancellationToken.None);
        }));

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.SweepId).Distinct());
        await using var check = database.CreateContext();
        Assert.Equal(1, await check.Sweeps.CountAsync(s => s.IdempotencyKey == key));
        Assert.Equal(50, await check.RenderTasks.CountAsync(t => t.SweepId == results[0].SweepId));
    }

    [Fact]
    public async Task An_empty_task_list_is_refused()
    {
        var sweep = TestData.NewSweep();
        await using var db = database.CreateContext();
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, [], CancellationToken.None));
        Assert.Contains("at least one task (got 0)", error.Message);
        await AssertNothingStoredAsync(sweep.Id, []);
    }

    private async Task AssertNothingStoredAsync(Guid sweepId, IEnumerable<Guid> taskIds)
    {
        var ids = taskIds.ToList();
        await using var check = database.CreateContext();
        Assert.False(await check.Sweeps.AnyAsync(s => s.Id == sweepId), "the sweep row was written");
        Assert.Equal(0, await check.RenderTasks.CountAsync(t => t.SweepId == sweepId || ids.Contains(t.Id)));
    }
}
