using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;

namespace Seg.Storage.Tasks;

/// <summary>Atomic sweep state changes: start, pause, resume, cancel, requeue failed tasks, completion.</summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="time">Clock for the transition times.</param>
public sealed class SweepTransitions(SegDbContext db, TimeProvider time)
{
    /// <summary>
    /// Marks a pending sweep running (its tasks are being dispatched) and notes when its first task was sent.
    /// </summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call changed it from pending to running.</returns>
    public async Task<bool> TryMarkRunningAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // A sweep resumed before its first dispatch is running already but has no start time yet.
        await db.Sweeps.Where(s => s.Id == sweepId && s.StartedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.StartedAt, now), cancellationToken).ConfigureAwait(false);
        return await MoveAsync(sweepId, [SweepStatus.Pending], SweepStatus.Running, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pauses a pending or running sweep: the dispatcher stops sending its tasks.</summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call paused it.</returns>
    public Task<bool> TryPauseAsync(Guid sweepId, CancellationToken cancellationToken) =>
        MoveAsync(sweepId, [SweepStatus.Pending, SweepStatus.Running], SweepStatus.Paused, cancellationToken);

    /// <summary>Resumes a paused sweep.</summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call resumed it.</returns>
    public Task<bool> TryResumeAsync(Guid sweepId, CancellationToken cancellationToken) =>
        MoveAsync(sweepId, [SweepStatus.Paused], SweepStatus.Running, cancellationToken);

    /// <summary>
    /// Most pending tasks a cancel marks cancelled in its own transaction. A larger sweep's pending tasks are marked by
    /// <see cref="CancelPendingOfCancelledAsync"/> in batches afterwards (a single UPDATE of a million rows takes longer
    /// than a user waits for a cancel); they are never dispatched meanwhile, since their sweep is cancelled, and the
    /// API counts them as cancelled.
    /// </summary>
    public const int ImmediateCancelLimit = 20_000;

    /// <summary>
    /// Cancels a sweep that has not ended, and in the same transaction every task of it that is queued (a queued task's
    /// message is acknowledged unrendered when a worker sees it cancelled) and, up to <see cref="ImmediateCancelLimit"/>,
    /// those pending. Running tasks finish.
    /// </summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The number of tasks cancelled (those left to the batches included), or null when the sweep was missing or had already ended.</returns>
    public async Task<int?> TryCancelAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var changed = await db.Sweeps
                .Where(s => s.Id == sweepId && (s.Status == SweepStatus.Pending || s.Status == SweepStatus.Running || s.Status == SweepStatus.Paused))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(x => x.Status, SweepStatus.Cancelled)
                    .SetProperty(x => x.UpdatedAt, now)
                    .SetProperty(x => x.FinishedAt, now), cancellationToken).ConfigureAwait(false);
            if (changed == 0)
            {
                return (int?)null;
            }

            var pending = await db.SweepCounters.Where(c => c.SweepId == sweepId).Select(c => c.Pending)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var cancelled = pending <= ImmediateCancelLimit ? [RenderTaskStatus.Pending, RenderTaskStatus.Queued] : new[] { RenderTaskStatus.Queued };
            var tasks = await db.RenderTasks
                .Where(t => t.SweepId == sweepId && cancelled.Contains(t.Status))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, RenderTaskStatus.Cancelled)
                    .SetProperty(t => t.FinishedAt, now), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return pending <= ImmediateCancelLimit ? tasks : tasks + pending;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks cancelled up to <paramref name="batch"/> pending tasks of cancelled sweeps: those a cancel of a large sweep
    /// left (see <see cref="ImmediateCancelLimit"/>). The dispatcher calls it between rounds until it returns 0.
    /// </summary>
    /// <param name="batch">Most tasks to mark (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>How many were marked.</returns>
    public async Task<int> CancelPendingOfCancelledAsync(int batch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        var now = time.GetUtcNow();
        var cancelledSweeps = db.Sweeps.Where(s => s.Status == SweepStatus.Cancelled).Select(s => s.Id);
        if (!await db.SweepCounters.AnyAsync(c => c.Pending > 0 && cancelledSweeps.Contains(c.SweepId), cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        var ids = db.RenderTasks.Where(t => t.Status == RenderTaskStatus.Pending && cancelledSweeps.Contains(t.SweepId)).Select(t => t.Id).Take(batch);
        return await db.RenderTasks.Where(t => ids.Contains(t.Id) && t.Status == RenderTaskStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Cancelled).SetProperty(t => t.FinishedAt, now), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Puts the failed tasks of a sweep that still have attempts left (attempts &lt; max_attempts) back to
    /// pending, and a failed sweep back to running. Tasks out of attempts stay failed.
    /// </summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The number of tasks requeued.</returns>
    public async Task<int> RequeueFailedAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var requeued = await db.RenderTasks
                .Where(t => t.SweepId == sweepId && t.Status == RenderTaskStatus.Failed
                    && db.Sweeps.Any(s => s.Id == t.SweepId && s.Status != SweepStatus.Cancelled && t.Attempts < s.MaxAttempts))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, RenderTaskStatus.Pending)
                    .SetProperty(t => t.FinishedAt, (DateTimeOffset?)null)
                    .SetProperty(t => t.QueuedAt, (DateTimeOffset?)null)
                    .SetProperty(t => t.WorkerId, (string?)null), cancellationToken).ConfigureAwait(false);
            if (requeued > 0)
            {
                await db.Sweeps
                    .Where(s => s.Id == sweepId && (s.Status == SweepStatus.Failed || s.Status == SweepStatus.Succeeded))
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(x => x.Status, SweepStatus.Running)
                        .SetProperty(x => x.UpdatedAt, now)
                        .SetProperty(x => x.FinishedAt, (DateTimeOffset?)null), cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return requeued;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Derives the final status of a sweep whose tasks have all ended: failed if any task failed,
    /// otherwise succeeded. A cancelled sweep stays cancelled.
    /// </summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The status this call set, or null when tasks are still active or the sweep had already ended.</returns>
    public async Task<SweepStatus?> TryCompleteAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var changed = await db.Sweeps
            .Where(s => s.Id == sweepId
                && (s.Status == SweepStatus.Pending || s.Status == SweepStatus.Running || s.Status == SweepStatus.Paused)
                && !db.RenderTasks.Any(t => t.SweepId == s.Id
                    && (t.Status == RenderTaskStatus.Pending || t.Status == RenderTaskStatus.Queued || t.Status == RenderTaskStatus.Running)))
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Status, x => db.RenderTasks.Any(t => t.SweepId == x.Id && t.Status == RenderTaskStatus.Failed)
                    ? SweepStatus.Failed
                    : SweepStatus.Succeeded)
                .SetProperty(x => x.UpdatedAt, now)
                .SetProperty(x => x.FinishedAt, now), cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            return null;
        }

        return await db.Sweeps.AsNoTracking().Where(s => s.Id == sweepId).Select(s => s.Status)
            .FirstAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Open sweeps (pending, running or paused) none of whose tasks is pending, queued or running, by their counter
    /// rows: sweeps whose last task ended without the event that completes them (lost with a broker that restarted
    /// empty), for <see cref="TryCompleteAsync"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Their ids.</returns>
    public async Task<IReadOnlyList<Guid>> OpenWithNoActiveTaskAsync(CancellationToken cancellationToken) =>
        await db.Sweeps.AsNoTracking()
            .Where(s => s.Status == SweepStatus.Pending || s.Status == SweepStatus.Running || s.Status == SweepStatus.Paused)
            .Join(db.SweepCounters.AsNoTracking(), s => s.Id, c => c.SweepId, (s, c) => c)
            .Where(c => c.Pending == 0 && c.Queued == 0 && c.Running == 0)
            .Select(c => c.SweepId)
            .ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>GPU-seconds spent on a sweep, summed over its tasks (accounting).</summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Total GPU-seconds.</returns>
    public Task<double> GpuSecondsAsync(Guid sweepId, CancellationToken cancellationToken) =>
        db.SweepCounters.Where(c => c.SweepId == sweepId).Select(c => c.GpuSeconds).FirstOrDefaultAsync(cancellationToken);

    private async Task<bool> MoveAsync(Guid sweepId, SweepStatus[] from, SweepStatus to, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return await db.Sweeps
            .Where(s => s.Id == sweepId && from.Contains(s.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Status, to)
                .SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false) == 1;
    }
}
