using MassTransit;
using Seg.Contracts.Messages;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>
/// A worker failed a task and has already marked it failed with the reason. The coordinator counts it and
/// completes the sweep (as failed) when it was the last task; <c>requeue-failed</c> may retry it later.
/// </summary>
/// <param name="progress">Sweep completion and dispatcher wake-up.</param>
/// <param name="metrics">Counters.</param>
/// <param name="logger">Logger.</param>
public sealed partial class RenderTaskFailedConsumer(SweepProgress progress, CoordinatorMetrics metrics, ILogger<RenderTaskFailedConsumer> logger)
    : IConsumer<RenderTaskFailed>
{
    /// <inheritdoc />
    public async Task Consume(ConsumeContext<RenderTaskFailed> context)
    {
        var failed = context.Message;
        metrics.TaskEnded("failed");
        metrics.TaskFailed(failed.Permanent ? "permanent" : "retries_exhausted");
        LogFailed(failed.TaskId, failed.SweepId, failed.Worker, failed.Attempt, failed.Permanent, failed.Reason);
        await progress.TaskEndedAsync(failed.SweepId, context.CancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Task {TaskId} of sweep {SweepId} failed on {Worker} (attempt {Attempt}, permanent {Permanent}): {Reason}")]
    private partial void LogFailed(Guid taskId, Guid sweepId, string worker, int attempt, bool permanent, string reason);
}
