using Seg.Coordinator.Dispatch;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Sweeps;

/// <summary>How a sweep command ended.</summary>
public enum SweepCommandOutcome
{
    /// <summary>The command took effect.</summary>
    Done,

    /// <summary>No sweep has the id.</summary>
    NotFound,

    /// <summary>The sweep's status does not allow the command; the reason says why.</summary>
    Conflict,
}

/// <summary>The result of a sweep command.</summary>
/// <param name="Outcome">Done, not found or conflict.</param>
/// <param name="TasksAffected">Tasks cancelled or requeued.</param>
/// <param name="Reason">Why the command was refused (conflict), for people.</param>
public sealed record SweepCommandResult(SweepCommandOutcome Outcome, int TasksAffected = 0, string? Reason = null);

/// <summary>Cancel, pause, resume and requeue-failed: each one conditional update, with a reason when refused.</summary>
/// <param name="transitions">Sweep transitions.</param>
/// <param name="queries">Reads the status to explain a refusal.</param>
/// <param name="signal">Wakes the dispatcher when there may be new work or room.</param>
public sealed class SweepCommands(SweepTransitions transitions, SweepQueries queries, DispatchSignal signal)
{
    /// <summary>Cancels a pending, running or paused sweep and its tasks that have not started.</summary>
    public async Task<SweepCommandResult> CancelAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        if (await transitions.TryCancelAsync(sweepId, cancellationToken).ConfigureAwait(false) is { } cancelled)
        {
            signal.Notify(); // queued tasks were cancelled: room for other sweeps
            return new SweepCommandResult(SweepCommandOutcome.Done, cancelled);
        }

        return await RefusedAsync(sweepId, "cancelled", "only pending, running or paused sweeps can be cancelled", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pauses a pending or running sweep: no more of its tasks are sent; those already sent finish.</summary>
    public async Task<SweepCommandResult> PauseAsync(Guid sweepId, CancellationToken cancellationToken) =>
        await transitions.TryPauseAsync(sweepId, cancellationToken).ConfigureAwait(false)
            ? new SweepCommandResult(SweepCommandOutcome.Done)
            : await RefusedAsync(sweepId, "paused", "only pending or running sweeps can be paused", cancellationToken).ConfigureAwait(false);

    /// <summary>Resumes a paused sweep.</summary>
    public async Task<SweepCommandResult> ResumeAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        if (await transitions.TryResumeAsync(sweepId, cancellationToken).ConfigureAwait(false))
        {
            signal.Notify();
            return new SweepCommandResult(SweepCommandOutcome.Done);
        }

        return await RefusedAsync(sweepId, "resumed", "only paused sweeps can be resumed", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Puts failed tasks that have attempts left back to pending (a cancelled sweep cannot be requeued).</summary>
    public async Task<SweepCommandResult> RequeueFailedAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var status = await queries.StatusAsync(sweepId, cancellationToken).ConfigureAwait(false);
        if (status is null)
        {
            return new SweepCommandResult(SweepCommandOutcome.NotFound);
        }

        if (status == SweepStatus.Cancelled)
        {
            return Conflict(sweepId, SweepStatus.Cancelled, "requeued", "a cancelled sweep stays cancelled; submit it again instead");
        }

        var requeued = await transitions.RequeueFailedAsync(sweepId, cancellationToken).ConfigureAwait(false);
        if (requeued > 0)
        {
            signal.Notify();
        }

        return new SweepCommandResult(SweepCommandOutcome.Done, requeued);
    }

    private async Task<SweepCommandResult> RefusedAsync(Guid sweepId, string verb, string rule, CancellationToken cancellationToken) =>
        await queries.StatusAsync(sweepId, cancellationToken).ConfigureAwait(false) is { } status
            ? Conflict(sweepId, status, verb, rule)
            : new SweepCommandResult(SweepCommandOutcome.NotFound);

    private static SweepCommandResult Conflict(Guid sweepId, SweepStatus status, string verb, string rule) =>
        new(SweepCommandOutcome.Conflict, 0, $"sweep {sweepId} is {status.ToString().ToLowerInvariant()} and cannot be {verb}: {rule}");
}
