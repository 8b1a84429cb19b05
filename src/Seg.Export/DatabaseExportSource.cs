using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Seg.Storage;
using Seg.Storage.Blobs;

namespace Seg.Export;

/// <summary>
/// A sweep's images from the provenance database (PostgreSQL on the farm, SQLite in a standalone run folder) and the
/// blob store (Azure or a local folder), streamed in task order: one row and one PNG in memory at a time.
/// </summary>
public sealed class DatabaseExportSource : IExportSource
{
    /// <summary>PNGs read ahead of the writer.</summary>
    private const int ReadAhead = 16;

    private readonly SegDbContext _db;
    private readonly IImageBlobStore _blobs;
    private readonly Guid _sweepId;

    private DatabaseExportSource(SegDbContext db, IImageBlobStore blobs, Guid sweepId, string sweepName)
    {
        _db = db;
        _blobs = blobs;
        _sweepId = sweepId;
        SweepName = sweepName;
    }

    /// <inheritdoc />
    public string SweepName { get; }

    /// <summary>Opens the export of sweep <paramref name="sweepId"/>.</summary>
    /// <exception cref="ExportException">No sweep has that id.</exception>
    public static async Task<DatabaseExportSource> OpenAsync(SegDbContext db, IImageBlobStore blobs, Guid sweepId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(blobs);
        var name = await db.Sweeps.AsNoTracking().Where(s => s.Id == sweepId).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new ExportException($"sweep: no sweep has id {sweepId}");
        return new DatabaseExportSource(db, blobs, sweepId, name);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ExportSample> ReadAsync(ExportFilter filter, Func<string, bool> skip, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(skip);
        var statuses = filter.Statuses;
        var rows = from image in _db.Images.AsNoTracking()
                   join task in _db.RenderTasks.AsNoTracking() on image.TaskId equals task.Id
                   where image.SweepId == _sweepId
                   select new { Image = image, task.TaskIndex, task.Status };
        if (statuses.Count > 0)
        {
            rows = rows.Where(r => statuses.Contains(r.Status));
        }

        // The next PNGs are read while the writer takes the current one (blob reads are latency-bound, above all on
        // Azure); at most ReadAhead images are in memory, in task order.
        var ahead = new Queue<(string Key, object?[] Values, Task<byte[]> Png)>();
        await foreach (var row in rows.OrderBy(r => r.TaskIndex).AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var key = ExportColumns.KeyOf(row.Image.TaskId);
            if (skip(key))
            {
                continue;
            }
            var values = ExportColumns.Values(new ExportSourceRow(row.Image, row.TaskIndex, row.Status));
            if (!filter.Matches(values))
            {
                continue;
            }
            ahead.Enqueue((key, values, ReadPngAsync(row.Image.TaskId, row.Image.BlobName, row.Image.ImageBytes, cancellationToken)));
            if (ahead.Count >= ReadAhead)
            {
                var (k, v, png) = ahead.Dequeue();
                yield return new ExportSample(k, v, await png.ConfigureAwait(false));
            }
        }
        while (ahead.TryDequeue(out var next))
        {
            yield return new ExportSample(next.Key, next.Values, await next.Png.ConfigureAwait(false));
        }
    }

    private async Task<byte[]> ReadPngAsync(Guid taskId, string blobName, long size, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await _blobs.OpenReadAsync(blobName, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream(size is > 0 and < int.MaxValue ? (int)size : 0);
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                return buffer.ToArray();
            }
        }
        catch (FileNotFoundException e)
        {
            throw new ExportException($"image of task {taskId}: {e.Message}");
        }
    }
}
