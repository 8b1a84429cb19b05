using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.Pipeline;
using Seg.ServiceDefaults;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;
using Seg.Worker.Heartbeats;
using Seg.Worker.Rendering;
using Seg.Worker.Tasks;

namespace Seg.Worker.Consumers;

/// <summary>
/// Renders one task: start it in the database, check it, render it on a leased slot, store the PNG and its
/// provenance, mark it succeeded, publish <see cref="RenderTaskSucceeded"/>. Every step is safe to repeat, so a
/// redelivered message (after a crash anywhere) finishes the task once. A task that cannot succeed fails at once
/// with <see cref="RenderTaskFailed"/> (permanent); transient faults are retried in place by the definition's policy,
/// then waited out (<see cref="WaitOutAsync"/>): an outage of the infrastructure never fails a task.
/// </summary>
/// <param name="transitions">Task state changes.</param>
/// <param name="records">Task reads.</param>
/// <param name="renderer">The renderer of the configured mode.</param>
/// <param name="store">Blob upload and provenance.</param>
/// <param name="pending">Renders kept for a retry of their storing.</param>
/// <param name="inHand">The tasks this worker's consumes hold now.</param>
/// <param name="stats">Counters for heartbeats and metrics.</param>
/// <param name="options">Worker options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class RenderTaskConsumer(
    TaskTransitions transitions,
    TaskRecords records,
    ITaskRenderer renderer,
    TaskImageStore store,
    PendingRenders pending,
    TasksInHand inHand,
    WorkerStats stats,
    IOptions<WorkerOptions> options,
    ILogger<RenderTaskConsumer> logger) : IConsumer<RenderTask>
{
    /// <summary>Bound on the bookkeeping done after the consume context's token was cancelled (release, fail).</summary>
    private static readonly TimeSpan BookkeepingTimeout = TimeSpan.FromSeconds(15);

    private readonly WorkerOptions _options = options.Value;
    private readonly string _workerId = options.Value.ResolvedWorkerId;

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<RenderTask> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Before the start marks it running here, so that a task running on this worker is always in hand while its
        // consume runs (LeftBehindTaskRelease gives back the others).
        inHand.Take(context.Message.TaskId);
        try
        {
            await ConsumeOnceAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (TransientFaults.IsTransient(e) && context.GetRetryAttempt() >= _options.Retry.Limit
                                  && !context.CancellationToken.IsCancellationRequested)
        {
            await WaitOutAsync(context, e).ConfigureAwait(false);
        }
        finally
        {
            inHand.Drop(context.Message.TaskId);
        }
    }

    private async Task ConsumeOnceAsync(ConsumeContext<RenderTask> context)
    {
        var task = context.Message;
        using var activity = SegTelemetry.ActivitySource.StartActivity("seg.render_task");
        SegTelemetry.SetTaskTags(activity, task.TaskId, task.SweepId, task.Parameters);
        activity?.SetTag("seg.worker_id", _workerId);
        activity?.SetTag("seg.attempt", task.Attempt);

        var start = await StartAsync(context, activity).ConfigureAwait(false);
        if (start is null)
        {
            return;
        }

        var retrying = false;
        try
        {
            await RenderAndStoreAsync(context, start, activity).ConfigureAwait(false);
        }
        catch (PermanentTaskFailureException e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            await FailAsync(context, e.Message, permanent: true, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The drain time ran out (or the bus stopped): give the task back; the message returns to the queue.
            activity?.SetTag("seg.outcome", "released");
            await ReleaseAsync(task).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (IsLastTry(context, e))
        {
            // Not retried (any more): record the failure so the task does not stay "running" on this worker, then
            // let MassTransit fault the message (Fault<RenderTask>, error queue).
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            await FailAfterErrorAsync(context, e).ConfigureAwait(false);
            throw;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.SetTag("seg.outcome", "retrying");
            retrying = true;
            throw;
        }
        finally
        {
            if (!retrying)
            {
                pending.Forget(task.TaskId);
            }
        }
    }

    /// <summary>Starts the task in the database; null when this message must be acknowledged without rendering.</summary>
    private async Task<TaskStart?> StartAsync(ConsumeContext<RenderTask> context, Activity? activity)
    {
        var task = context.Message;
        var cancellationToken = context.CancellationToken;
        var start = await transitions.StartAsync(task.TaskId, _workerId, takeOverRunning: context.ReceiveContext.Redelivered, cancellationToken)
            .ConfigureAwait(false);
        if (start.Outcome == TaskStartOutcome.RunningElsewhere && context.GetRetryAttempt() > 0
            && await records.IsRunningOnAsync(task.TaskId, _workerId, cancellationToken).ConfigureAwait(false))
        {
            // A retry of this worker's own attempt after a transient fault: carry on, without counting an attempt.
            start = new TaskStart(TaskStartOutcome.Started);
        }

        activity?.SetTag("seg.start", start.Outcome.ToString());
        switch (start.Outcome)
        {
            case TaskStartOutcome.Started:
                return start;
            case TaskStartOutcome.AlreadyEnded:
                LogAlreadyEnded(task.TaskId);
                await RepublishSucceededAsync(context).ConfigureAwait(false);
                return null;
            case TaskStartOutcome.RunningElsewhere:
                LogRunningElsewhere(task.TaskId);
                return null;
            case TaskStartOutcome.AttemptsExhausted:
                var row = await records.FindTaskAsync(task.TaskId, cancellationToken).ConfigureAwait(false);
                var reason = row?.LastError ?? "attempts exhausted";
                LogAttemptsExhausted(task.TaskId, reason);
                WorkerStats.RecordFailed(permanent: true);
                await context.Publish(new RenderTaskFailed(task.TaskId, task.SweepId, reason, Permanent: true, _workerId, row?.Attempts ?? task.Attempt),
                    cancellationToken).ConfigureAwait(false);
                return null;
            default:
                LogUnknownTask(task.TaskId, task.SweepId);
                return null;
        }
    }

    private async Task RenderAndStoreAsync(ConsumeContext<RenderTask> context, TaskStart start, Activity? activity)
    {
        var task = context.Message;
        var cancellationToken = context.CancellationToken;

        // An earlier attempt that stored the image and its provenance but ended before marking the task: the
        // image is the task's; finish from it instead of rendering a second one. A first attempt of a first
        // delivery has no earlier attempt, so it skips the query (one database round trip of about six per task).
        var mayHaveEarlierImage = !start.IsFirstAttempt || context.ReceiveContext.Redelivered || context.GetRetryAttempt() > 0;
        var image = mayHaveEarlierImage ? await records.FindImageAsync(task.TaskId, cancellationToken).ConfigureAwait(false) : null;
        double gpuSeconds;
        if (image is null)
        {
            // The one check of the task's parameters on its way to the pipeline, before any model is touched.
            RenderRequest request;
            try
            {
                request = RenderRequest.For(task.Parameters);
            }
            catch (RenderRequestException e)
            {
                throw new PermanentTaskFailureException(e.Message, e);
            }

            // A retry after a transient fault while storing reuses the render instead of rendering again.
            var render = pending.Find(task.TaskId);
            if (render is null)
            {
                using (var span = SegTelemetry.ActivitySource.StartActivity("seg.render"))
                {
                    render = await renderer.RenderAsync(task, request, cancellationToken).ConfigureAwait(false);
                    span?.SetTag("seg.device", render.Device);
                    span?.SetTag("seg.execution_provider", render.ExecutionProvider);
                    span?.SetTag("seg.gpu_seconds", render.GpuSeconds);
                }

                pending.Keep(task.TaskId, render);
                foreach (var warning in render.Warnings)
                {
                    LogRenderWarning(task.TaskId, warning);
                }
            }
            else
            {
                activity?.SetTag("seg.reused_render", true);
            }

            image = await store.StoreAsync(task, render, cancellationToken).ConfigureAwait(false);
            gpuSeconds = render.GpuSeconds;
            WorkerStats.RecordRender(task.Parameters.Model, StageSeconds(image), gpuSeconds);
        }
        else
        {
            activity?.SetTag("seg.finished_from_stored_image", true);
            gpuSeconds = StageSeconds(image).GetValueOrDefault(Stages.Device);
        }

        if (!await transitions.TryMarkSucceededAsync(task.TaskId, gpuSeconds, cancellationToken).ConfigureAwait(false))
        {
            var row = await records.FindTaskAsync(task.TaskId, cancellationToken).ConfigureAwait(false);
            if (row?.Status != RenderTaskStatus.Succeeded)
            {
                // Cancelled (or failed) by the coordinator while rendering: the image stays, the task does not change.
                LogEndedDuringRender(task.TaskId, row?.Status);
                activity?.SetTag("seg.outcome", "ended_meanwhile");
                return;
            }
        }

        await context.Publish(Succeeded(image, gpuSeconds), cancellationToken).ConfigureAwait(false);
        stats.RecordSucceeded(gpuSeconds);
        activity?.SetTag("seg.outcome", "succeeded");
        LogRendered(task.TaskId, image.Device, gpuSeconds, image.BlobUri);
    }

    /// <summary>
    /// A redelivered message of a task that succeeded: the previous attempt may have ended between marking the
    /// task and publishing its event, so publish it again (the coordinator handles events at least once).
    /// </summary>
    private async Task RepublishSucceededAsync(ConsumeContext<RenderTask> context)
    {
        var cancellationToken = context.CancellationToken;
        var row = await records.FindTaskAsync(context.Message.TaskId, cancellationToken).ConfigureAwait(false);
        if (row?.Status != RenderTaskStatus.Succeeded)
        {
            return;
        }

        var image = await records.FindImageAsync(row.Id, cancellationToken).ConfigureAwait(false);
        if (image is not null)
        {
            await context.Publish(Succeeded(image, row.GpuSeconds), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task FailAsync(ConsumeContext<RenderTask> context, string reason, bool permanent, CancellationToken cancellationToken)
    {
        var task = context.Message;
        LogFailed(task.TaskId, permanent ? "permanent" : "after retries", reason);
        if (!await transitions.TryMarkFailedAsync(task.TaskId, reason, 0, cancellationToken).ConfigureAwait(false))
        {
            LogFailureNotRecorded(task.TaskId);
            return;
        }

        WorkerStats.RecordFailed(permanent);
        var attempts = (await records.FindTaskAsync(task.TaskId, cancellationToken).ConfigureAwait(false))?.Attempts ?? task.Attempt;
        await context.Publish(new RenderTaskFailed(task.TaskId, task.SweepId, reason, permanent, _workerId, attempts), cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task FailAfterErrorAsync(ConsumeContext<RenderTask> context, Exception error)
    {
        using var timeout = new CancellationTokenSource(BookkeepingTimeout);
        try
        {
            await FailAsync(context, $"{error.GetType().Name}: {error.Message}", permanent: false, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The database or broker may be what failed; the Fault<RenderTask> still tells the coordinator.
            LogRecordingFailureFailed(e, context.Message.TaskId);
        }
    }

    private async Task ReleaseAsync(RenderTask task)
    {
        using var timeout = new CancellationTokenSource(BookkeepingTimeout);
        try
        {
            var released = await transitions.TryReleaseAsync(task.TaskId, _workerId,
                $"released by worker {_workerId}: it stopped before the render finished (Worker:DrainTimeoutSeconds {_options.DrainTimeoutSeconds})",
                timeout.Token, refundAttempt: true).ConfigureAwait(false);
            LogCancelledByShutdown(task.TaskId, released ? "released to the queue" : "was not running here");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReleaseFailed(e, task.TaskId);
        }
    }

    /// <summary>A fault of the task itself or of the code: transient faults are retried, then waited out, never failed.</summary>
    private static bool IsLastTry(ConsumeContext context, Exception exception) => !TransientFaults.IsTransient(exception);

    /// <summary>
    /// The redelivery with backoff after the in-place retries (MassTransit's delayed redelivery needs a broker plugin
    /// that is not available here, hence this loop): wait, give the task back (refunding the attempt, since the fault
    /// was not the task's), send its message to the queue again and acknowledge this one. While the database is still
    /// down the release fails and the loop waits longer; the message stays unacknowledged, so a crash of this worker
    /// hands it to the broker again.
    /// </summary>
    private async Task WaitOutAsync(ConsumeContext<RenderTask> context, Exception fault)
    {
        var task = context.Message;
        pending.Forget(task.TaskId);
        var cancellationToken = context.CancellationToken;
        var delay = TimeSpan.FromSeconds(Math.Max(0.1, _options.Retry.RedeliveryMinSeconds));
        var maxDelay = TimeSpan.FromSeconds(Math.Max(_options.Retry.RedeliveryMinSeconds, _options.Retry.RedeliveryMaxSeconds));
        for (var round = 1; ; round++)
        {
            LogRedeliveryRound(task.TaskId, $"{fault.GetType().Name}: {fault.Message}", _options.Retry.Limit, round, delay.TotalSeconds);
            WorkerStats.RecordRedelivery();
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxDelay.Ticks));
            try
            {
                await transitions.TryReleaseAsync(task.TaskId, _workerId, $"given back by worker {_workerId} after a transient fault: {fault.GetType().Name}",
                    cancellationToken, refundAttempt: true).ConfigureAwait(false);
                var endpoint = await context.GetSendEndpoint(context.ReceiveContext.InputAddress).ConfigureAwait(false);
                await endpoint.Send(task, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (TransientFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                fault = e;
            }
        }
    }

    private static RenderTaskSucceeded Succeeded(ImageRecord image, double gpuSeconds) =>
        new(image.TaskId, image.SweepId, new Uri(image.BlobUri), image.ImageSha256, image.WorkerId, image.Device, StageSeconds(image), gpuSeconds);

    private static Dictionary<string, double> StageSeconds(ImageRecord image) =>
        JsonSerializer.Deserialize<Dictionary<string, double>>(image.TimingsJson) ?? [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: {Fault} outlasted {Retries} retries; redelivery round {Round} in {Delay} s")]
    private partial void LogRedeliveryRound(Guid taskId, string fault, int retries, int round, double delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} has already ended; acknowledged without rendering")]
    private partial void LogAlreadyEnded(Guid taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} is running on another worker; acknowledged")]
    private partial void LogRunningElsewhere(Guid taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} failed: {Reason}")]
    private partial void LogAttemptsExhausted(Guid taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} of sweep {SweepId} is not in the database; acknowledged without rendering")]
    private partial void LogUnknownTask(Guid taskId, Guid sweepId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: {Warning}")]
    private partial void LogRenderWarning(Guid taskId, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} ended as {Status} during its render; not marked succeeded")]
    private partial void LogEndedDuringRender(Guid taskId, RenderTaskStatus? status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} rendered on {Device} in {Seconds:F2} s: {BlobUri}")]
    private partial void LogRendered(Guid taskId, string device, double seconds, string blobUri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} failed ({Kind}): {Reason}")]
    private partial void LogFailed(Guid taskId, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} had already ended; its failure is not recorded")]
    private partial void LogFailureNotRecorded(Guid taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId}: recording its failure failed")]
    private partial void LogRecordingFailureFailed(Exception exception, Guid taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} cancelled by shutdown; {Outcome}")]
    private partial void LogCancelledByShutdown(Guid taskId, string outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId}: releasing it failed; its redelivery will take it over")]
    private partial void LogReleaseFailed(Exception exception, Guid taskId);
}
