using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Coordinator.Sweeps;
using Seg.Parameters;
using Seg.Storage;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Storage.Provenance;

namespace Seg.Coordinator.Tests;

/// <summary>
/// What every coordinator test host offers over its services, whatever hosts them (the web app of
/// <see cref="CoordinatorFixture{TDatabase}"/> on either database, or the standalone composition of
/// <see cref="Sqlite.StandaloneCoordinatorFixture"/>): scoped services, the database, the sweep queries and the
/// worker simulator.
/// </summary>
public abstract class CoordinatorTestHost
{
    /// <summary>A 1x1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    /// <summary>The host's services.</summary>
    public abstract IServiceProvider Services { get; }

    /// <summary>Plays a worker on the host's bus and database.</summary>
    public WorkerSimulator Worker => new(Services);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < limit, $"timed out after {limit.TotalSeconds} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Runs <paramref name="action"/> with a service of a fresh scope.</summary>
    public async Task<TResult> WithAsync<TService, TResult>(Func<TService, Task<TResult>> action)
        where TService : notnull
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<TService>());
    }

    /// <summary>Runs <paramref name="action"/> on a fresh database context.</summary>
    public Task<T> WithDbAsync<T>(Func<SegDbContext, Task<T>> action) => WithAsync(action);

    /// <summary>Rows in every table of the farm's schema.</summary>
    public Task<(int Sweeps, int Tasks, int Images, int Workers)> CountRowsAsync() => WithDbAsync(async db =>
        (await db.Sweeps.CountAsync(), await db.RenderTasks.CountAsync(), await db.Images.CountAsync(), await db.Workers.CountAsync()));

    /// <summary>A sweep's summary as <see cref="SweepQueries"/> gives it (the detail with stuck tasks and definition when asked); it must exist.</summary>
    public async Task<SweepSummary> SummaryAsync(Guid sweepId, bool detail = false) =>
        await WithAsync<SweepQueries, SweepSummary?>(q => detail ? q.GetDetailAsync(sweepId, CancellationToken.None) : q.GetAsync(sweepId, CancellationToken.None))
        ?? throw new InvalidOperationException($"sweep {sweepId} not found");

    /// <summary>Waits until the sweep has <paramref name="status"/>; returns its summary.</summary>
    public async Task<SweepSummary> WaitForSweepStatusAsync(Guid sweepId, SweepStatus status)
    {
        SweepSummary? summary = null;
        await EventuallyAsync(async () => (summary = await SummaryAsync(sweepId)).Status == status, $"sweep {sweepId} {status}");
        return summary!;
    }

    /// <summary>Stores <see cref="Png"/> as a task's image, as a worker leaves it: the blob, then the provenance row (true when the row is new).</summary>
    public async Task<bool> StoreImageAsync(Guid taskId, Guid sweepId, RenderParameters parameters, string workerId)
    {
        await using var scope = Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<IImageBlobStore>().UploadPngAsync(ImageBlobNames.ForTask(taskId), Png, CancellationToken.None);
        return await scope.ServiceProvider.GetRequiredService<ProvenanceWriter>().TryInsertAsync(new ImageRecord
        {
            TaskId = taskId,
            SweepId = sweepId,
            ParametersJson = JsonSerializer.Serialize(parameters),
            Parameters = parameters,
            WorkerId = workerId,
            Device = "cpu",
            ExecutionProvider = "CPUExecutionProvider",
            ImageSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Png)),
            BlobName = stored.BlobName,
            BlobUri = stored.Uri.ToString(),
            ImageWidth = 1,
            ImageHeight = 1,
            ImageBytes = Png.Length,
        }, CancellationToken.None);
    }
}
