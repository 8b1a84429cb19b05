using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;

namespace Seg.Storage.Audit;

/// <summary>What one <see cref="BlobAudit.RunAsync"/> found and changed.</summary>
/// <param name="RowsChecked">Provenance rows walked.</param>
/// <param name="Missing">Rows whose blob the listing did not have (before each was looked up again).</param>
/// <param name="Requeued">Succeeded tasks whose blob was lost, put back to pending (their provenance row removed).</param>
/// <param name="SweepsReopened">Sweeps that had ended (succeeded or failed) and run again for those tasks.</param>
/// <param name="FirstRequeued">The first requeued task ids (at most ten), for the log.</param>
public sealed record BlobAuditResult(long RowsChecked, int Missing, int Requeued, int SweepsReopened, IReadOnlyList<Guid> FirstRequeued);

/// <summary>
/// Finds provenance rows whose image is gone from the blob store (the store restarted empty, a container deleted, a blob
/// deleted by hand) and renders those tasks again: the row is removed and the task goes back to pending with its
/// attempt refunded and one resend counted (<see cref="ResendReason"/>); a sweep that had ended runs again. Afterwards
/// blobs and provenance rows agree again, with no manual step.
/// </summary>
/// <remarks>
/// A merge join of two ordered streams, so memory stays bounded at any size: the <c>images</c> rows in pages by
/// <c>blob_name</c> in ordinal order (keyset, served by <c>ix_images_blob_name</c> under the <c>C</c> collation on
/// PostgreSQL, SQLite's BINARY order), and the store's listing in the same order (Azure lists names lexicographically,
/// page by page). A row whose name the listing lacks is a candidate. The listing may have passed a name just before its
/// upload, so each candidate is looked up again, in the requeue's transaction: a blob is uploaded before its row is
/// inserted, so a row whose blob is missing now has lost it. An ordering that differed between the two sides would only
/// add lookups, never miss a lost blob (every row the listing did not match becomes a candidate).
/// Safe with several coordinator replicas: each batch takes a transaction-scoped advisory lock on PostgreSQL (the write
/// lock on SQLite) and acts only on rows that are still the provenance of a succeeded task, after the lookup, so a task
/// another replica requeued (or that was rendered again since) is not requeued twice.
/// </remarks>
/// <param name="db">Database context (scoped).</param>
/// <param name="inventory">The store's listing.</param>
/// <param name="blobs">The store, to look candidates up one by one.</param>
/// <param name="time">Clock.</param>
public sealed class BlobAudit(SegDbContext db, IImageBlobInventory inventory, IImageBlobStore blobs, TimeProvider time)
{
    /// <summary>The resend reason counted for a task rendered again because its blob was lost.</summary>
    public const string ResendReason = "blob_lost";

    /// <summary>Key of the advisory lock each requeue batch takes on PostgreSQL ("SEGAUDIT" in ASCII, less its last letter).</summary>
    public const long LockKey = 0x5345_4741_5544_49;

    private const int LookupConcurrency = 8;

    /// <summary>Provenance rows read per page (default 1000).</summary>
    public int RowPageSize { get; init; } = 1000;

    /// <summary>Candidates looked up again and requeued per transaction (default 200).</summary>
    public int BatchSize { get; init; } = 200;

    /// <summary>Walks every provenance row beside the store's listing and requeues the tasks whose blob is lost.</summary>
    /// <param name="cancellationToken">Cancels the audit (batches already committed stay).</param>
    /// <returns>What it found and changed.</returns>
    public async Task<BlobAuditResult> RunAsync(CancellationToken cancellationToken)
    {
        var totals = new Totals();
        var candidates = new List<ImageKey>(BatchSize);
        var listing = inventory.ListNamesAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (listing.ConfigureAwait(false))
        {
            var hasBlob = await listing.MoveNextAsync().ConfigureAwait(false);
            string? after = null;
            while (true)
            {
                var page = await PageAsync(after, cancellationToken).ConfigureAwait(false);
                foreach (var row in page)
                {
                    totals.Rows++;
                    while (hasBlob && string.CompareOrdinal(listing.Current, row.BlobName) < 0)
                    {
                        hasBlob = await listing.MoveNextAsync().ConfigureAwait(false);
                    }

                    // Equal: the blob is there (the listing stays on it, should another row name it too).
                    if (!hasBlob || !string.Equals(listing.Current, row.BlobName, StringComparison.Ordinal))
                    {
                        candidates.Add(row);
                    }
                }

                if (candidates.Count >= BatchSize || (page.Count < RowPageSize && candidates.Count > 0))
                {
                    await RequeueLostAsync(candidates, totals, cancellationToken).ConfigureAwait(false);
                    candidates.Clear();
                }

                if (page.Count < RowPageSize)
                {
                    break;
                }

                after = page[^1].BlobName;
            }
        }

        return new BlobAuditResult(totals.Rows, totals.Missing, totals.Requeued, totals.SweepsReopened, totals.FirstRequeued);
    }

    /// <summary>The next page of rows after <paramref name="after"/> in ordinal order of their blob names.</summary>
    private async Task<List<ImageKey>> PageAsync(string? after, CancellationToken cancellationToken)
    {
        // Ordinal order on both providers: PostgreSQL's "C" collation compares bytes, as SQLite's BINARY does.
        var collation = db.Provider == SegDatabaseProvider.Sqlite ? "BINARY" : "C";
        var rows = db.Images.AsNoTracking();
        if (after is not null)
        {
            rows = rows.Where(i => string.Compare(EF.Functions.Collate(i.BlobName, collation), after) > 0);
        }

        return await rows.OrderBy(i => EF.Functions.Collate(i.BlobName, collation))
            .Select(i => new ImageKey(i.TaskId, i.SweepId, i.BlobName))
            .Take(RowPageSize)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// In one transaction under the audit lock: keeps the candidates that are still the provenance of a succeeded task of
    /// a sweep that was not cancelled, looks each blob up again, and requeues those still missing.
    /// </summary>
    private async Task RequeueLostAsync(List<ImageKey> candidates, Totals totals, CancellationToken cancellationToken)
    {
        totals.Missing += candidates.Count;
        var candidateIds = candidates.Select(c => c.TaskId).ToArray();
        var strategy = db.Database.CreateExecutionStrategy();
        var (requeued, reopened, ids) = await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (db.Provider == SegDatabaseProvider.PostgreSql)
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({LockKey})", cancellationToken).ConfigureAwait(false);
            }

            var current = await db.Images.AsNoTracking()
                .Where(i => candidateIds.Contains(i.TaskId)
                    && db.RenderTasks.Any(t => t.Id == i.TaskId && t.Status == RenderTaskStatus.Succeeded
                        && db.Sweeps.Any(s => s.Id == t.SweepId && s.Status != SweepStatus.Cancelled)))
                .Select(i => new ImageKey(i.TaskId, i.SweepId, i.BlobName))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var lost = new ConcurrentBag<ImageKey>();
            await Parallel.ForEachAsync(current, new ParallelOptions { MaxDegreeOfParallelism = LookupConcurrency, CancellationToken = cancellationToken },
                async (row, token) =>
                {
                    if (!await blobs.ExistsAsync(row.BlobName, token).ConfigureAwait(false))
                    {
                        lost.Add(row);
                    }
                }).ConfigureAwait(false);
            if (lost.IsEmpty)
            {
                return (0, 0, Array.Empty<Guid>());
            }

            var lostIds = lost.Select(l => l.TaskId).ToArray();
            var sweepIds = lost.Select(l => l.SweepId).Distinct().ToArray();
            var now = time.GetUtcNow();
            var tasks = await db.RenderTasks
                .Where(t => lostIds.Contains(t.Id) && t.Status == RenderTaskStatus.Succeeded)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, RenderTaskStatus.Pending)
                    // The render was good; the store lost it: the next one must not bring the task closer to max_attempts.
                    .SetProperty(t => t.Attempts, t => t.Attempts > 0 ? t.Attempts - 1 : 0)
                    .SetProperty(t => t.Resends, t => t.Resends + 1)
                    .SetProperty(t => t.LastError, $"{ResendReason}: the image's blob was missing from the store; rendering it again")
                    .SetProperty(t => t.FinishedAt, (DateTimeOffset?)null)
                    .SetProperty(t => t.QueuedAt, (DateTimeOffset?)null)
                    .SetProperty(t => t.WorkerId, (string?)null), cancellationToken).ConfigureAwait(false);
            await db.Images
                .Where(i => lostIds.Contains(i.TaskId) && db.RenderTasks.Any(t => t.Id == i.TaskId && t.Status == RenderTaskStatus.Pending))
                .ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            var sweeps = await db.Sweeps
                .Where(s => sweepIds.Contains(s.Id) && (s.Status == SweepStatus.Succeeded || s.Status == SweepStatus.Failed))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(x => x.Status, SweepStatus.Running)
                    .SetProperty(x => x.UpdatedAt, now)
                    .SetProperty(x => x.FinishedAt, (DateTimeOffset?)null), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (tasks, sweeps, lostIds);
        }).ConfigureAwait(false);

        totals.Requeued += requeued;
        totals.SweepsReopened += reopened;
        totals.FirstRequeued.AddRange(ids.Take(10 - totals.FirstRequeued.Count));
    }

    private readonly record struct ImageKey(Guid TaskId, Guid SweepId, string BlobName);

    private sealed class Totals
    {
        public long Rows { get; set; }

        public int Missing { get; set; }

        public int Requeued { get; set; }

        public int SweepsReopened { get; set; }

        public List<Guid> FirstRequeued { get; } = [];
    }
}
