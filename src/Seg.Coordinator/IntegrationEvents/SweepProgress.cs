using Seg.Coordinator.Dispatch;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>What the coordinator does when a task of a sweep has ended: complete the sweep if it was the last, wake the dispatcher.</summary>
/// <param name="sweeps">Sweep transitions.</param>
/// <param name="signal">Wakes the dispatcher (a slot in flight is free).</param>
/// <param name="metrics">Counters.</param>
/// <param name="logger">Logger.</param>
public sealed partial class SweepProgress(SweepTransitions sweeps, DispatchSignal signal, CoordinatorMetrics metrics, ILogger<SweepProgress> logger)
{
    /// <summary>Records that a task of <paramref name="sweepId"/> ended.</summary>
    /// <param name="sweepId">The task's sweep.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The sweep's final status when this call completed it, otherwise null.</returns>
    public async Task<SweepStatus?> TaskEndedAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        signal.Notify();
        return await TryCompleteAsync(sweepId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives the sweep its final status when all its tasks have ended (counted and logged).</summary>
    /// <param name="sweepId">The sweep.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The sweep's final status when this call completed it, otherwise null.</returns>
    public async Task<SweepStatus?> TryCompleteAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var completed = await sweeps.TryCompleteAsync(sweepId, cancellationToken).ConfigureAwait(false);
        if (completed is { } status)
        {
            var name = status.ToString().ToLowerInvariant();
            metrics.SweepEnded(name);
            LogSweepCompleted(sweepId, name);
        }

        return completed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId} {Status}: every task has ended")]
    private partial void LogSweepCompleted(Guid sweepId, string status);
}
