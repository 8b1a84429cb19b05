using Microsoft.EntityFrameworkCore;

namespace Seg.Storage.Tasks;

/// <summary>What a finished sweep left in the database, for the closing report of a run.</summary>
/// <param name="db">Database context (scoped).</param>
public sealed class SweepOutcomes(SegDbContext db)
{
    /// <summary>The distinct reasons the sweep's tasks failed, in order of the first task that failed with each.</summary>
    /// <param name="sweepId">The sweep.</param>
    /// <param name="max">At most this many reasons.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The reasons.</returns>
    public async Task<IReadOnlyList<string>> FailureReasonsAsync(Guid sweepId, int max, CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking()
            .Where(t => t.SweepId == sweepId && t.LastError != null)
            .GroupBy(t => t.LastError!)
            .Select(g => new { Reason = g.Key, First = g.Min(t => t.TaskIndex) })
            .OrderBy(r => r.First)
            .Take(max)
            .Select(r => r.Reason)
            .ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The database's tables, from the model (so a report never lists fewer or other tables than there are).</summary>
    /// <returns>The table names, sorted.</returns>
    public IReadOnlyList<string> TableNames() =>
        [.. db.Model.GetEntityTypes().Select(e => e.GetTableName()).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
