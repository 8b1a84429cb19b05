using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Coordinator.Monitoring;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Sweeps;

/// <summary>Reads sweeps with their progress: counts per task status, progress, ETA, GPU-seconds.</summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="stuckTasks">Finds stuck tasks for the one-sweep view.</param>
/// <param name="time">Clock.</param>
public sealed class SweepQueries(SegDbContext db, StuckTaskQuery stuckTasks, TimeProvider time)
{
    /// <summary>One page of sweeps, newest first, optionally only those in <paramref name="status"/>.</summary>
    public Task<SweepPage> ListAsync(SweepStatus? status, int page, int pageSize, CancellationToken cancellationToken) =>
        ListFilteredAsync(new SweepFilter(status, null, null), page, pageSize, cancellationToken);

    /// <summary>One page of sweeps, newest first, that match <paramref name="filter"/> (the web pages' list).</summary>
    public async Task<SweepPage> ListFilteredAsync(SweepFilter filter, int page, int pageSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var query = db.Sweeps.AsNoTracking();
        if (filter.Status is { } wanted)
        {
            query = query.Where(s => s.Status == wanted);
        }

        if (!string.IsNullOrWhiteSpace(filter.Name))
        {
            var name = filter.Name.Trim().ToLowerInvariant();
            query = query.Where(s => s.Name.ToLower().Contains(name));
        }

        if (!string.IsNullOrWhiteSpace(filter.Tag))
        {
            // Tags are jsonb on PostgreSQL and text on SQLite, with no common translation of a key/value test: the
            // (small) tag column of the sweeps left by the other filters is matched here, then paged by id.
            var tagged = await query.Select(s => new { s.Id, s.TagsJson }).ToListAsync(cancellationToken).ConfigureAwait(false);
            var ids = tagged.Where(s => filter.MatchesTags(s.TagsJson)).Select(s => s.Id).ToList();
            query = query.Where(s => ids.Contains(s.Id));
        }

        var total = await query.CountAsync(cancellationToken).ConfigureAwait(false);
        var rows = await query.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id)
            .Skip((page - 1) * pageSize).Take(pageSize)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new SweepPage(await SummarizeAsync(rows, cancellationToken).ConfigureAwait(false), page, pageSize, total);
    }

    /// <summary>One sweep, with its definition and stuck tasks; null when there is none.</summary>
    public async Task<SweepSummary?> GetDetailAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var sweep = await db.Sweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Id == sweepId, cancellationToken).ConfigureAwait(false);
        if (sweep is null)
        {
            return null;
        }

        var summary = (await SummarizeAsync([sweep], cancellationToken).ConfigureAwait(false))[0];
        using var definition = JsonDocument.Parse(sweep.DefinitionJson);
        return summary with
        {
            Definition = definition.RootElement.Clone(),
            StuckTasks = await stuckTasks.FindAsync(sweepId, cancellationToken).ConfigureAwait(false),
        };
    }

    /// <summary>One sweep without the detail; null when there is none.</summary>
    public async Task<SweepSummary?> GetAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var sweep = await db.Sweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Id == sweepId, cancellationToken).ConfigureAwait(false);
        return sweep is null ? null : (await SummarizeAsync([sweep], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>The status of a sweep, or null when there is none.</summary>
    public Task<SweepStatus?> StatusAsync(Guid sweepId, CancellationToken cancellationToken) =>
        db.Sweeps.AsNoTracking().Where(s => s.Id == sweepId).Select(s => (SweepStatus?)s.Status).FirstOrDefaultAsync(cancellationToken);

    private async Task<IReadOnlyList<SweepSummary>> SummarizeAsync(IReadOnlyList<Sweep> sweeps, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var ids = sweeps.Select(s => s.Id).ToArray();
        // The counters the triggers keep: one primary-key probe per sweep, however many tasks it has.
        var counters = await db.SweepCounters.AsNoTracking().Where(c => ids.Contains(c.SweepId))
            .ToDictionaryAsync(c => c.SweepId, cancellationToken).ConfigureAwait(false);
        return [.. sweeps.Select(s => Summarize(s, counters.GetValueOrDefault(s.Id) ?? new SweepCounters { SweepId = s.Id }, now))];
    }

    private static SweepSummary Summarize(Sweep sweep, SweepCounters counters, DateTimeOffset now)
    {
        // Pending tasks of a cancelled sweep will never run: a large sweep's are marked in batches after the cancel.
        var pending = sweep.Status == SweepStatus.Cancelled ? 0 : counters.Pending;
        var counts = new TaskCounts(pending, counters.Queued, counters.Running, counters.Succeeded, counters.Failed,
            counters.Cancelled + (counters.Pending - pending));
        var ended = counts.Succeeded + counts.Failed + counts.Cancelled;
        var remaining = counts.Pending + counts.Queued + counts.Running;

        // The ETA from the rate since the first dispatch (constant time; a recent-window rate would read the tasks).
        double? eta = null;
        if (sweep.Status is SweepStatus.Pending or SweepStatus.Running && remaining > 0 && ended > 0 && sweep.StartedAt is { } started
            && now - started is { Ticks: > 0 } measured)
        {
            eta = remaining / (ended / measured.TotalSeconds);
        }

        var tags = JsonSerializer.Deserialize<Dictionary<string, string>>(sweep.TagsJson) ?? [];
        return new SweepSummary(
            sweep.Id,
            sweep.Name,
            sweep.Status,
            sweep.Priority,
            sweep.TaskCount,
            counts,
            sweep.TaskCount == 0 ? 0 : (double)ended / sweep.TaskCount,
            eta,
            counters.GpuSeconds,
            counters.Resends,
            sweep.MaxAttempts,
            tags,
            sweep.SubmittedBy,
            sweep.CreatedAt,
            sweep.StartedAt,
            sweep.FinishedAt);
    }
}
