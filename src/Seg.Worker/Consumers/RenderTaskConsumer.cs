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
/// with <see cref="RenderTaskFailed"/> (permanent); transient faults are retried by the definition's policy.
/// </summary>
/// <param name="transitions">Task state changes.</param>
/// <param name="records">Task reads.</param>
/// <param name="renderer">The renderer of the configured mode.</param>
/// <param name="store">Blob upload and provenance.</param>
/// <param name="pending">Renders kept for a retry of their storing.</param>
/// <param name="stats">Counters for heartbeats and metrics.</param>
/// <param name="options">Worker options.</param>
/// <param name="logger">Logger.</param>
public sealed class RenderTaskConsumer(
    TaskTransitions transitions,
    TaskRecords records,
    ITaskRenderer renderer,
    TaskImageStore store,
    PendingRenders pending,
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
                logger.LogInformation("Task {TaskId} has already ended; acknowledged without rendering", task.TaskId);
                await RepublishSucceededAsync(context).ConfigureAwait(false);
                return null;
            case TaskStartOutcome.RunningElsewhere:
                logger.LogInformation("Task {TaskId} is running on another worker; acknowledged", task.TaskId);
                return null;
            case TaskStartOutcome.AttemptsExhausted:
                var row = await records.FindTaskAsync(task.TaskId, cancellationToken).ConfigureAwait(false);
                var reason = row?.LastError ?? "attempts exhausted";
                logger.LogWarning("Task {TaskId} failed: {Reason}", task.TaskId, reason);
                WorkerStats.RecordFailed(permanent: true);
                await context.Publish(new RenderTaskFailed(task.TaskId, task.SweepId, reason, Permanent: true, _workerId, row?.Attempts ?? task.Attempt),
                    cancellationToken).ConfigureAwait(false);
                return null;
            default:
                logger.LogWarning("Task {TaskId} of sweep {SweepId} is not in the database; acknowledged without rendering", task.TaskId, task.SweepId);
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
        double deviceSeconds;
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
                    span?.SetTag("seg.device_seconds", render.DeviceSeconds);
                }

                pending.Keep(task.TaskId, render);
                foreach (var warning in render.Warnings)
                {
                    logger.LogWarning("Task {TaskId}: {Warning}", task.TaskId, warning);
                }
            }
            else
            {
                activity?.SetTag("seg.reused_render", true);
            }

            image = await store.StoreAsync(task, render, cancellationToken).ConfigureAwait(false);
            deviceSeconds = render.DeviceSeconds;
            WorkerStats.RecordRender(task.Parameters.Model, StageSeconds(image), deviceSeconds);
        }
        else
        {
            activity?.SetTag("seg.finished_from_stored_image", true);
            deviceSeconds = StageSeconds(image).GetValueOrDefault(Stages.Device);
        }

        if (!await transitions.TryMarkSucceededAsync(task.TaskId, deviceSeconds, cancellationToken).ConfigureAwait(false))
        {
            var row = await records.FindTaskAsync(task.TaskId, cancellationToken).ConfigureAwait(false);
            if (row?.Status != RenderTaskStatus.Succeeded)
            {
                // Cancelled (or failed) by the coordinator while rendering: the image stays, the task does not change.
                logger.LogInformation("Task {TaskId} ended as {Status} during its render; not marked succeeded", task.TaskId, row?.Status);
                activity?.SetTag("seg.outcome", "ended_meanwhile");
                return;
            }
        }

        await context.Publish(Succeeded(image, deviceSeconds), cancellationToken).ConfigureAwait(false);
        stats.RecordSucceeded(deviceSeconds);
        activity?.SetTag("seg.outcome", "succeeded");
        logger.LogInformation("Task {TaskId} rendered on {Device} in {Seconds:F2} s: {BlobUri}", task.TaskId, image.Device, deviceSeconds, image.BlobUri);
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
        logger.LogWarning("Task {TaskId} failed ({Kind}): {Reason}", task.TaskId, permanent ? "permanent" : "after retries", reason);
        if (!await transitions.TryMarkFailedAsync(task.TaskId, reason, 0, cancellationToken).ConfigureAwait(false))
        {
            logger.LogInformation("Task {TaskId} had already ended; its failure is not recorded", task.TaskId);
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
            logger.LogError(e, "Task {TaskId}: recording its failure failed", context.Message.TaskId);
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
            logger.LogWarning("Task {TaskId} cancelled by shutdown; {Outcome}", task.TaskId, released ? "released to the queue" : "was not running here");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Task {TaskId}: releasing it failed; its redelivery will take it over", task.TaskId);
        }
    }

    private bool IsLastTry(ConsumeContext context, Exception exception) =>
        !TransientFaults.IsTransient(exception) || context.GetRetryAttempt() >= _options.Retry.Limit;

    private static RenderTaskSucceeded Succeeded(ImageRecord image, double gpuSeconds) =>
        new(image.TaskId, image.SweepId, new Uri(image.BlobUri), image.ImageSha256, image.WorkerId, image.Device, StageSeconds(image), gpuSeconds);

    private static Dictionary<string, double> StageSeconds(ImageRecord image) =>
        JsonSerializer.Deserialize<Dictionary<string, double>>(image.TimingsJson) ?? [];
}
