using MassTransit;
using Seg.Contracts.Messages;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>
/// MassTransit's <see cref="Fault{T}"/> of a <see cref="RenderTask"/>: a worker's consumer threw until its transient
/// retries ran out, so no worker will finish the task. The coordinator marks it failed with the reason (if it has not
/// ended), so that <c>requeue-failed</c> can try it again, and completes the sweep when it was the last task.
/// </summary>
/// <param name="tasks">Task transitions.</param>
/// <param name="progress">Sweep completion and dispatcher wake-up.</param>
/// <param name="metrics">Counters.</param>
public sealed class RenderTaskFaultConsumer(TaskTransitions tasks, SweepProgress progress, CoordinatorMetrics metrics) : IConsumer<Fault<RenderTask>>
{
    /// <summary>Longest reason kept; exception messages with stack-like detail can be long.</summary>
    private const int MaxReasonLength = 2000;

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<Fault<RenderTask>> context)
    {
        var fault = context.Message;
        var task = fault.Message;
        var exceptions = (fault.Exceptions ?? []).OfType<ExceptionInfo>().Select(e => $"{e.ExceptionType}: {e.Message}").ToList();
        var errors = exceptions.Count > 0 ? string.Join("; ", exceptions) : "no exception recorded";
        var host = fault.Host?.MachineName is { Length: > 0 } machine ? $" on {machine}" : "";
        var reason = $"attempt {task.Attempt} faulted{host} after transient retries: {errors}";
        if (reason.Length > MaxReasonLength)
        {
            reason = reason[..MaxReasonLength];
        }

        if (await tasks.TryMarkFailedAsync(task.TaskId, reason, 0, context.CancellationToken).ConfigureAwait(false))
        {
            metrics.TaskEnded("faulted");
            metrics.TaskFailed("faulted");
        }

        await progress.TaskEndedAsync(task.SweepId, context.CancellationToken).ConfigureAwait(false);
    }
}
