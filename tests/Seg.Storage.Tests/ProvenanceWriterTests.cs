using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

public sealed class ProvenanceWriterPostgresTests(PostgresDatabaseFixture database)
    : ProvenanceWriterTests(database), IClassFixture<PostgresDatabaseFixture>;

public sealed class ProvenanceWriterSqliteTests(SqliteDatabaseFixture database)
    : ProvenanceWriterTests(database), IClassFixture<SqliteDatabaseFixture>;

/// <summary>Idempotent provenance inserts, run on PostgreSQL and on SQLite.</summary>
public abstract class ProvenanceWriterTests(ITestDatabase database)
{
    [Fact]
    public async Task Inserts_once_then_reports_not_inserted_and_keeps_one_row()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        await using (var db = database.CreateContext())
        {
            Assert.True(await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(TestData.NewImage(sweepId, taskId), CancellationToken.None));
        }

        var redelivered = TestData.NewImage(sweepId, taskId);
        redelivered.WorkerId = "worker-b";
        await using (var db = database.CreateContext())
        {
            Assert.False(await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(redelivered, CancellationToken.None));
        }

        await using var check = database.CreateContext();
        var row = Assert.Single(await check.Images.Where(i => i.TaskId == taskId).ToListAsync());
        Assert.Equal("worker-a", row.WorkerId);
        Assert.Equal(double.PositiveInfinity, row.Parameters.SegBlurSigma);
        Assert.Equal("CPUExecutionProvider", row.ExecutionProvider);
        using var timings = JsonDocument.Parse(row.TimingsJson);
        Assert.Equal(2.5, timings.RootElement.GetProperty("unet").GetDouble());
        Assert.NotEqual(default, row.CreatedAt);
    }

    [Fact]
    public async Task Concurrent_inserts_for_one_task_insert_exactly_once()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            await using var db = database.CreateContext();
            return await new ProvenanceWriter(db, TimeProvider.System).TryInsertAsync(TestData.NewImage(sweepId, taskId), CancellationToken.None);
        }));

        Assert.Single(results, inserted => inserted);
        await using var check = database.CreateContext();
        Assert.Equal(1, await check.Images.CountAsync(i => i.TaskId == taskId));
    }

    [Fact]
    public async Task Infinite_blur_is_stored_as_ieee_infinity_and_finite_sigmas_round_trip()
    {
        var (sweepId, infiniteTask) = await NewTaskAsync();
        var (_, finiteTask) = await NewTaskAsync();
        await using (var db = database.CreateContext())
        {
            var writer = new ProvenanceWriter(db, TimeProvider.System);
            await writer.TryInsertAsync(TestData.NewImage(sweepId, infiniteTask), CancellationToken.None);
            await writer.TryInsertAsync(TestData.NewImage(sweepId, finiteTask, sigma: 4.0), CancellationToken.None);
        }

        await using var check = database.CreateContext();
        // PostgreSQL spells infinity 'Infinity'; SQLite has no literal for it, but 9e999 overflows to it.
        var infinityLiteral = database.Provider == SegDatabaseProvider.Sqlite ? "9e999" : "'Infinity'";
        var sql = "SELECT task_id AS \"Value\" FROM images WHERE seg_blur_sigma = " + infinityLiteral;
        var infinite = await check.Database.SqlQueryRaw<Guid>(sql).ToListAsync();
        Assert.Contains(infiniteTask, infinite);
        Assert.DoesNotContain(finiteTask, infinite);
        Assert.Equal(4.0, (await check.Images.SingleAsync(i => i.TaskId == finiteTask)).Parameters.SegBlurSigma);
        Assert.Equal(double.PositiveInfinity, (await check.Images.SingleAsync(i => i.TaskId == infiniteTask)).Parameters.SegBlurSigma);

        // Infinity sorts after every finite sigma, and LINQ can filter on it.
        Assert.Equal([finiteTask, infiniteTask], await check.Images
            .Where(i => i.TaskId == finiteTask || i.TaskId == infiniteTask)
            .OrderBy(i => i.Parameters.SegBlurSigma).Select(i => i.TaskId).ToListAsync());
        // A variable, so EF Core sends a parameter: its SQLite provider writes a constant infinity as the
        // bare word Infinity, which SQLite reads as a column name.
        var infinity = double.PositiveInfinity;
        Assert.Equal(infiniteTask, await check.Images
            .Where(i => i.SweepId == sweepId && i.Parameters.SegBlurSigma == infinity).Select(i => i.TaskId).SingleAsync());
    }

    [Fact]
    public async Task Bad_fields_are_refused_by_name()
    {
        var (sweepId, taskId) = await NewTaskAsync();
        await using var db = database.CreateContext();
        var writer = new ProvenanceWriter(db, TimeProvider.System);

        var badHash = TestData.NewImage(sweepId, taskId);
        badHash.ImageSha256 = "ABC";
        Assert.Contains("image_sha256 must be 64 lower-case hex digits (got 'ABC')",
            (await Assert.ThrowsAsync<ArgumentException>(() => writer.TryInsertAsync(badHash, CancellationToken.None))).Message);

        var badSteps = TestData.NewImage(sweepId, taskId);
        badSteps.Parameters = badSteps.Parameters with { Steps = 0 };
        Assert.Contains("steps must be between 1 and 1000 (got 0)",
            (await Assert.ThrowsAsync<ArgumentException>(() => writer.TryInsertAsync(badSteps, CancellationToken.None))).Message);

        var nanSigma = TestData.NewImage(sweepId, taskId, sigma: double.NaN);
        Assert.Contains("seg_blur_sigma must be > 0 or \"inf\" (got NaN)",
            (await Assert.ThrowsAsync<ArgumentException>(() => writer.TryInsertAsync(nanSigma, CancellationToken.None))).Message);
    }

    private async Task<(Guid SweepId, Guid TaskId)> NewTaskAsync()
    {
        await using var db = database.CreateContext();
        var sweep = TestData.NewSweep();
        var task = TestData.NewTasks(1).Single();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, [task], CancellationToken.None);
        return (sweep.Id, task.Id);
    }
}
