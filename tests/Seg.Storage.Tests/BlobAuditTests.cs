using Microsoft.EntityFrameworkCore;
using Seg.Storage.Audit;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

/// <summary>The audit on PostgreSQL with Azurite, the farm's pair.</summary>
public sealed class BlobAuditPostgresTests(PostgresDatabaseFixture database, AzuriteContainerFixture container)
    : BlobAuditTests(database, new AzureImageBlobStore(container.Container)), IClassFixture<PostgresDatabaseFixture>, IClassFixture<AzuriteContainerFixture>
{
    [Fact]
    public async Task Two_audits_at_once_requeue_each_lost_image_once()
    {
        var (sweep, tasks) = await RenderedSweepAsync(6);
        await DeleteBlobsAsync(tasks[1], tasks[4]);

        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            await using var db = Database.CreateContext();
            return await NewAudit(db).RunAsync(None);
        }));

        Assert.Equal(2, results.Sum(r => r.Requeued));
        await AssertRequeuedAsync(sweep, tasks, [tasks[1], tasks[4]]);
    }
}

/// <summary>The audit on SQLite with a local folder, the standalone mode's pair.</summary>
public sealed class BlobAuditSqliteTests(SqliteDatabaseFixture database)
    : BlobAuditTests(database, new LocalFolderImageBlobStore(Path.Combine(database.Folder, "images"))), IClassFixture<SqliteDatabaseFixture>;

/// <summary>
/// The blob audit (issue 9, blob store restarted empty): with some blobs deleted, exactly their tasks go back to pending
/// (attempt refunded, one resend counted) and exactly their provenance rows are removed, an ended sweep runs again, the
/// counters agree with the tasks, and a second audit changes nothing. Small pages, so the merge join crosses pages and
/// batches. Real databases and stores, as the farm uses them.
/// </summary>
public abstract class BlobAuditTests(ITestDatabase database, IImageBlobStore store)
{
    protected static readonly CancellationToken None = CancellationToken.None;

    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    protected ITestDatabase Database => database;

    [Fact]
    public async Task Exactly_the_tasks_whose_blob_is_gone_are_requeued_and_their_rows_removed()
    {
        var (sweep, tasks) = await RenderedSweepAsync(11);
        // A blob without a row (another sweep's, a thumbnail) is no concern of the audit.
        await store.UploadPngAsync("images/00/00/no-row.png", Png, None);
        var lost = new[] { tasks[0], tasks[3], tasks[4], tasks[10] };
        await DeleteBlobsAsync(lost);

        BlobAuditResult result;
        await using (var db = database.CreateContext())
        {
            result = await NewAudit(db).RunAsync(None);
        }

        // The audit walks every row of the database (other tests' sweeps too).
        Assert.True(result.RowsChecked >= 11, $"{result.RowsChecked} rows checked");
        Assert.Equal(4, result.Requeued);
        Assert.Equal(1, result.SweepsReopened);
        Assert.Equal(lost.Order(), result.FirstRequeued.Order());
        await AssertRequeuedAsync(sweep, tasks, lost);

        // Nothing more is missing: a second audit changes nothing.
        await using (var db = database.CreateContext())
        {
            var again = await NewAudit(db).RunAsync(None);
            Assert.True(again.RowsChecked >= 7, $"{again.RowsChecked} rows checked");
            Assert.Equal(0, again.Requeued);
        }

        await AssertRequeuedAsync(sweep, tasks, lost);
    }

    [Fact]
    public async Task A_store_emptied_altogether_requeues_every_succeeded_task_and_leaves_other_rows()
    {
        var (sweep, tasks) = await RenderedSweepAsync(5);
        await DeleteBlobsAsync(tasks);
        // A task still running with its row stored (its worker has not marked it yet) is not the audit's to requeue.
        await using (var db = database.CreateContext())
        {
            await db.RenderTasks.Where(t => t.Id == tasks[2]).ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Running));
            var result = await NewAudit(db).RunAsync(None);
            Assert.Equal(4, result.Requeued);
            Assert.True(result.Missing >= 5, $"{result.Missing} missing"); // the running task's row too, looked up but left
        }

        await using var check = database.CreateContext();
        Assert.Equal([tasks[2]], await check.Images.Where(i => i.SweepId == sweep).Select(i => i.TaskId).ToListAsync());
        Assert.Equal(4, await check.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Pending));
    }

    protected BlobAudit NewAudit(SegDbContext db) =>
        new(db, (IImageBlobInventory)store, store, TimeProvider.System) { RowPageSize = 3, BatchSize = 2 };

    /// <summary>A sweep whose tasks all succeeded, each with its blob and its provenance row; the sweep ended succeeded.</summary>
    protected async Task<(Guid Sweep, List<Guid> Tasks)> RenderedSweepAsync(int count)
    {
        await using var db = database.CreateContext();
        var sweep = TestData.NewSweep();
        var newTasks = TestData.NewTasks(count).ToList();
        await new TaskBulkWriter(db, TimeProvider.System).InsertSweepAsync(sweep, newTasks, None);
        var transitions = new TaskTransitions(db, TimeProvider.System);
        var provenance = new Provenance.ProvenanceWriter(db, TimeProvider.System);
        foreach (var task in newTasks)
        {
            Assert.Equal(TaskStartOutcome.Started, await transitions.TryStartAsync(task.Id, "worker-a", false, None));
            var stored = await store.UploadPngAsync(ImageBlobNames.ForTask(task.Id), Png, None);
            var image = TestData.NewImage(sweep.Id, task.Id);
            image.BlobName = stored.BlobName;
            Assert.True(await provenance.TryInsertAsync(image, None));
            Assert.True(await transitions.TryMarkSucceededAsync(task.Id, 1, None));
        }

        Assert.Equal(SweepStatus.Succeeded, await new SweepTransitions(db, TimeProvider.System).TryCompleteAsync(sweep.Id, None));
        return (sweep.Id, [.. newTasks.Select(t => t.Id)]);
    }

    /// <summary>Deletes the blobs of <paramref name="taskIds"/>, as a store that lost them.</summary>
    protected async Task DeleteBlobsAsync(params IEnumerable<Guid> taskIds)
    {
        foreach (var taskId in taskIds)
        {
            switch (store)
            {
                case AzureImageBlobStore:
                    await new Azure.Storage.Blobs.BlobClient(TestServices.Blobs, ContainerName(), ImageBlobNames.ForTask(taskId)).DeleteAsync();
                    break;
                case LocalFolderImageBlobStore local:
                    File.Delete(Path.Combine(local.RootFolder, ImageBlobNames.ForTask(taskId)));
                    break;
            }

            Assert.False(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
        }
    }

    /// <summary>The lost tasks are pending with attempt refunded and one resend, their rows gone; the rest untouched.</summary>
    protected async Task AssertRequeuedAsync(Guid sweepId, List<Guid> tasks, Guid[] lost)
    {
        await using var db = database.CreateContext();
        var rows = await db.RenderTasks.AsNoTracking().Where(t => t.SweepId == sweepId).ToListAsync();
        foreach (var task in rows)
        {
            if (lost.Contains(task.Id))
            {
                Assert.Equal(RenderTaskStatus.Pending, task.Status);
                Assert.Equal(0, task.Attempts);
                Assert.Equal(1, task.Resends);
                Assert.Null(task.FinishedAt);
                Assert.StartsWith(BlobAudit.ResendReason, task.LastError);
            }
            else
            {
                Assert.Equal(RenderTaskStatus.Succeeded, task.Status);
                Assert.Equal(1, task.Attempts);
                Assert.Equal(0, task.Resends);
            }
        }

        var images = await db.Images.AsNoTracking().Where(i => i.SweepId == sweepId).Select(i => i.TaskId).ToListAsync();
        Assert.Equal(tasks.Except(lost).Order(), images.Order());
        Assert.Equal(SweepStatus.Running, await db.Sweeps.Where(s => s.Id == sweepId).Select(s => s.Status).SingleAsync());
        var counters = await db.SweepCounters.AsNoTracking().SingleAsync(c => c.SweepId == sweepId);
        Assert.Equal(lost.Length, counters.Pending);
        Assert.Equal(tasks.Count - lost.Length, counters.Succeeded);
        Assert.Equal(lost.Length, counters.Resends);
    }

    private string ContainerName() => ((AzureImageBlobStore)store).ContainerUri.Segments[^1].TrimEnd('/');
}
