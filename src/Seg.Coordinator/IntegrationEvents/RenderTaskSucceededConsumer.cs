using MassTransit;
using Seg.Contracts.Messages;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>
/// A worker rendered a task. The worker has already stored the image, its provenance and the task's final status;
/// the coordinator counts it and completes the sweep when it was the last task.
/// </summary>
/// <param name="progress">Sweep completion and dispatcher wake-up.</param>
/// <param name="metrics">Counters.</param>
public sealed class RenderTaskSucceededConsumer(SweepProgress progress, CoordinatorMetrics metrics) : IConsumer<RenderTaskSucceeded>
{
    /// <inheritdoc />
    public async Task Consume(ConsumeContext<RenderTaskSucceeded> context)
    {
        metrics.TaskEnded("succeeded", context.Message.GpuSeconds);
        await progress.TaskEndedAsync(context.Message.SweepId, context.CancellationToken).ConfigureAwait(false);
    }
}
