using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Sweeps;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Web;

/// <summary>Failed tasks of a sweep that share a reason.</summary>
/// <param name="Reason">The failure reason as the worker gave it.</param>
/// <param name="Count">How many tasks failed with it.</param>
/// <param name="ExampleTaskIndex">One of them, to look at.</param>
public sealed record FailureGroup(string Reason, int Count, int ExampleTaskIndex);

/// <summary>What one worker did for a sweep.</summary>
/// <param name="WorkerId">The worker.</param>
/// <param name="Running">Tasks of the sweep it runs now.</param>
/// <param name="Succeeded">Tasks it rendered.</param>
/// <param name="Failed">Tasks that failed on it.</param>
public sealed record SweepWorker(string WorkerId, int Running, int Succeeded, int Failed);

/// <summary>One task of a grid: its index, id, status and whether its image is stored.</summary>
/// <param name="TaskIndex">Index in the sweep's expansion.</param>
/// <param name="TaskId">Task id.</param>
/// <param name="Status">Task status.</param>
/// <param name="HasImage">Whether its image and provenance are stored.</param>
public sealed record GridTask(int TaskIndex, Guid TaskId, RenderTaskStatus Status, bool HasImage);

/// <summary>An image's provenance row with its task.</summary>
/// <param name="Image">The provenance row.</param>
/// <param name="TaskIndex">The task's index in its sweep.</param>
public sealed record ImageDetail(ImageRecord Image, int TaskIndex);

/// <summary>
/// The reads the web pages need beyond the API's (<see cref="Sweeps.SweepQueries"/> for sweep summaries): failures by
/// reason, workers per sweep, the tasks of a grid by index, one image row. Each is one query on an indexed column.
/// </summary>
/// <param name="db">Database context (scoped).</param>
public sealed class WebQueries(SegDbContext db)
{
    /// <summary>Most failure reasons a sweep page lists.</summary>
    public const int MaxFailureGroups = 20;

    /// <summary>The sweep's definition as stored, parsed; null when there is no such sweep.</summary>
    public async Task<SweepDefinition?> DefinitionAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var json = await db.Sweeps.AsNoTracking().Where(s => s.Id == sweepId).Select(s => s.DefinitionJson)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return json is null ? null : SweepParser.ParseJson(json).Definition;
    }

    /// <summary>The sweep's failed tasks grouped by reason, most frequent first.</summary>
    public async Task<IReadOnlyList<FailureGroup>> FailuresAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var groups = await db.RenderTasks.AsNoTracking()
            .Where(t => t.SweepId == sweepId && t.Status == RenderTaskStatus.Failed)
            .GroupBy(t => t.LastError ?? "")
            .Select(g => new { Reason = g.Key, Count = g.Count(), First = g.Min(t => t.TaskIndex) })
            .OrderByDescending(g => g.Count).Take(MaxFailureGroups)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. groups.Select(g => new FailureGroup(g.Reason, g.Count, g.First))];
    }

    /// <summary>The workers that ran tasks of the sweep, with what they did.</summary>
    public async Task<IReadOnlyList<SweepWorker>> WorkersAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var groups = await db.RenderTasks.AsNoTracking()
            .Where(t => t.SweepId == sweepId && t.WorkerId != null)
            .GroupBy(t => new { t.WorkerId, t.Status })
            .Select(g => new { g.Key.WorkerId, g.Key.Status, Count = g.Count() })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. groups.GroupBy(g => g.WorkerId!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new SweepWorker(
            g.Key,
            g.Where(x => x.Status == RenderTaskStatus.Running).Sum(x => x.Count),
            g.Where(x => x.Status == RenderTaskStatus.Succeeded).Sum(x => x.Count),
            g.Where(x => x.Status == RenderTaskStatus.Failed).Sum(x => x.Count)))];
    }

    /// <summary>The tasks of a sweep at <paramref name="taskIndexes"/>, by index (served by the unique (sweep, index) index).</summary>
    public async Task<IReadOnlyDictionary<int, GridTask>> TasksAtAsync(Guid sweepId, IReadOnlyCollection<int> taskIndexes, CancellationToken cancellationToken)
    {
        var indexes = taskIndexes.ToArray();
        var rows = await db.RenderTasks.AsNoTracking()
            .Where(t => t.SweepId == sweepId && indexes.Contains(t.TaskIndex))
            .Select(t => new GridTask(t.TaskIndex, t.Id, t.Status, db.Images.Any(i => i.TaskId == t.Id)))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(t => t.TaskIndex);
    }

    /// <summary>One image's provenance with its task index; null when the task has no image.</summary>
    public async Task<ImageDetail?> ImageAsync(Guid taskId, CancellationToken cancellationToken) =>
        await db.Images.AsNoTracking().Where(i => i.TaskId == taskId)
            .Join(db.RenderTasks, i => i.TaskId, t => t.Id, (image, task) => new ImageDetail(image, task.TaskIndex))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The execution provider of each worker's latest image (the heartbeat carries devices, not the provider). One
    /// grouped query over the images' worker column.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ExecutionProvidersAsync(CancellationToken cancellationToken)
    {
        var rows = await db.Images.AsNoTracking()
            .GroupBy(i => i.WorkerId)
            .Select(g => new { WorkerId = g.Key, Provider = g.OrderByDescending(i => i.CreatedAt).Select(i => i.ExecutionProvider).First() })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(r => r.WorkerId, r => r.Provider, StringComparer.Ordinal);
    }
}
