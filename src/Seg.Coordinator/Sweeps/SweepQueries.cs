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
    /// <summary>The completion rate behind the ETA is measured over this recent window.</summary>
    private static readonly TimeSpan EtaWindow = TimeSpan.FromMinutes(10);

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
        var windowStart = now - EtaWindow;
        var ids = sweeps.Select(s => s.Id).ToArray();
        // One grouped query for the whole page: served by the (sweep_id, status) index.
        var groups = await db.RenderTasks.AsNoTracking()
            .Where(t => ids.Contains(t.SweepId))
            .GroupBy(t => new { t.SweepId, t.Status })
            .Select(g => new TaskGroup(
                g.Key.SweepId,
                g.Key.Status,
                g.Count(),
                g.Sum(t => t.GpuSeconds),
                g.Min(t => t.StartedAt ?? t.QueuedAt),
                g.Count(t => t.FinishedAt >= windowStart)))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var bySweep = groups.ToLookup(g => g.SweepId);
        return [.. sweeps.Select(s => Summarize(s, [.. bySweep[s.Id]], now, windowStart))];
    }

    private static SweepSummary Summarize(Sweep sweep, IReadOnlyList<TaskGroup> groups, DateTimeOffset now, DateTimeOffset windowStart)
    {
        int Count(RenderTaskStatus status) => groups.Where(g => g.Status == status).Sum(g => g.Count);
        var counts = new TaskCounts(
            Count(RenderTaskStatus.Pending),
            Count(RenderTaskStatus.Queued),
            Count(RenderTaskStatus.Running),
            Count(RenderTaskStatus.Succeeded),
            Count(RenderTaskStatus.Failed),
            Count(RenderTaskStatus.Cancelled));
        var ended = counts.Succeeded + counts.Failed + counts.Cancelled;
        var remaining = counts.Pending + counts.Queued + counts.Running;
        var startedAt = groups.Select(g => g.FirstStartedAt).Where(t => t is not null).Min();
        var recentlyEnded = groups.Where(g => g.Status is RenderTaskStatus.Succeeded or RenderTaskStatus.Failed).Sum(g => g.RecentlyFinished);

        double? eta = null;
        if (sweep.Status is SweepStatus.Pending or SweepStatus.Running && remaining > 0 && recentlyEnded > 0 && startedAt is { } started)
        {
            var measured = now - (started > windowStart ? started : windowStart);
            if (measured > TimeSpan.Zero)
            {
                eta = remaining / (recentlyEnded / measured.TotalSeconds);
            }
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
            groups.Sum(g => g.GpuSeconds),
            sweep.MaxAttempts,
            tags,
            sweep.SubmittedBy,
            sweep.CreatedAt,
            startedAt,
            sweep.FinishedAt);
    }

    private sealed record TaskGroup(Guid SweepId, RenderTaskStatus Status, int Count, double GpuSeconds, DateTimeOffset? FirstStartedAt, int RecentlyFinished);
}
