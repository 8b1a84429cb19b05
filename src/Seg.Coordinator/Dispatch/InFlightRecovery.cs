using Microsoft.EntityFrameworkCore;
using Seg.Coordinator.IntegrationEvents;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Dispatch;

/// <summary>What <see cref="InFlightRecovery.RecoverAsync"/> changed.</summary>
/// <param name="TasksRequeued">Queued or running tasks of open sweeps put back to pending.</param>
/// <param name="TasksCancelled">Queued or running tasks of cancelled sweeps marked cancelled.</param>
/// <param name="SweepsCompleted">Open sweeps whose tasks had all ended, now given their final status.</param>
public sealed record InFlightRecoveryResult(int TasksRequeued, int TasksCancelled, int SweepsCompleted);

/// <summary>
/// For a host whose transport loses its messages when the process ends (the in-memory bus of the standalone mode):
/// at start, tasks an earlier run left queued or running have no message any more and no worker will end them, yet
/// they count against <see cref="CoordinatorOptions.MaxInFlight"/>; and a sweep whose last task ended just before the
/// stop may have lost the event that completes it. Never use it with RabbitMQ, whose queues keep the messages (the
/// tasks would be sent twice). Turned on by <see cref="CoordinatorOptions.RecoverInFlightAtStart"/>.
/// </summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="progress">Completes sweeps whose tasks have all ended.</param>
/// <param name="time">Clock.</param>
public sealed class InFlightRecovery(SegDbContext db, SweepProgress progress, TimeProvider time)
{
    private static readonly SweepStatus[] Open = [SweepStatus.Pending, SweepStatus.Running, SweepStatus.Paused];

    /// <summary>
    /// Puts queued and running tasks of pending, running and paused sweeps back to pending (a running task keeps the
    /// attempt it used, so a task that kills the process cannot loop forever), marks those of cancelled sweeps
    /// cancelled, then completes every open sweep that has no task left to run.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What changed.</returns>
    public async Task<InFlightRecoveryResult> RecoverAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int requeued;
        int cancelled;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            requeued = await db.RenderTasks
                .Where(t => (t.Status == RenderTaskStatus.Queued || t.Status == RenderTaskStatus.Running)
                    && db.Sweeps.Any(s => s.Id == t.SweepId && Open.Contains(s.Status)))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Pending), cancellationToken).ConfigureAwait(false);
            cancelled = await db.RenderTasks
                .Where(t => (t.Status == RenderTaskStatus.Queued || t.Status == RenderTaskStatus.Running)
                    && db.Sweeps.Any(s => s.Id == t.SweepId && s.Status == SweepStatus.Cancelled))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, RenderTaskStatus.Cancelled)
                    .SetProperty(t => t.FinishedAt, now), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var openSweeps = await db.Sweeps.AsNoTracking().Where(s => Open.Contains(s.Status)).Select(s => s.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var completed = 0;
        foreach (var sweepId in openSweeps)
        {
            if (await progress.TaskEndedAsync(sweepId, cancellationToken).ConfigureAwait(false) is not null)
            {
                completed++;
            }
        }

        return new InFlightRecoveryResult(requeued, cancelled, completed);
    }
}
