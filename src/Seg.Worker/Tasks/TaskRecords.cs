using Microsoft.EntityFrameworkCore;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Worker.Tasks;

/// <summary>The reads the worker needs besides the transitions: a task's row and its provenance row.</summary>
/// <param name="db">Database context (scoped).</param>
public sealed class TaskRecords(SegDbContext db)
{
    /// <summary>The task's row, or null.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The row, not tracked.</returns>
    public Task<RenderTaskRecord?> FindTaskAsync(Guid taskId, CancellationToken cancellationToken) =>
        db.RenderTasks.AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, cancellationToken);

    /// <summary>The task's provenance row (present once its image is stored), or null.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The row, not tracked.</returns>
    public Task<ImageRecord?> FindImageAsync(Guid taskId, CancellationToken cancellationToken) =>
        db.Images.AsNoTracking().FirstOrDefaultAsync(i => i.TaskId == taskId, cancellationToken);

    /// <summary>Whether the task is running on the given worker (a retry of this worker's own attempt).</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="workerId">Worker id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>True when the task is running on <paramref name="workerId"/>.</returns>
    public Task<bool> IsRunningOnAsync(Guid taskId, string workerId, CancellationToken cancellationToken) =>
        db.RenderTasks.AnyAsync(t => t.Id == taskId && t.Status == RenderTaskStatus.Running && t.WorkerId == workerId, cancellationToken);

    /// <summary>Ids of the tasks running on <paramref name="workerId"/> that started before <paramref name="startedBefore"/>.</summary>
    /// <param name="workerId">Worker id.</param>
    /// <param name="startedBefore">Only tasks started before this.</param>
    /// <param name="limit">Most ids.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The ids, oldest start first.</returns>
    public async Task<IReadOnlyList<Guid>> RunningOnAsync(string workerId, DateTimeOffset startedBefore, int limit, CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Running && t.WorkerId == workerId && t.StartedAt < startedBefore)
            .OrderBy(t => t.StartedAt).Take(limit).Select(t => t.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
}
