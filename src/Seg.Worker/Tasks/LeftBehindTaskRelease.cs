using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage.Tasks;

namespace Seg.Worker.Tasks;

/// <summary>
/// Every <see cref="HeartbeatOptions.IntervalSeconds"/>, gives back the tasks that the database says run on this worker
/// but that no consume of this worker holds (<see cref="TasksInHand"/>): their consume ended without finishing them,
/// for instance when a broker that restarted empty took their message and cancelled the consume before the task could
/// be released. They become queued again, their attempt refunded, and the coordinator sends their message again (it
/// sends queued tasks again whose message no worker started). Without this such a task stays running on a live worker
/// (its heartbeats keep it from counting as orphaned) and its sweep never ends.
/// </summary>
/// <param name="scopes">Creates a scope (a database context) per check.</param>
/// <param name="inHand">The tasks this worker's consumes hold.</param>
/// <param name="options">Worker options (the worker id).</param>
/// <param name="heartbeats">The interval, also the least age of a task it gives back.</param>
/// <param name="time">Clock.</param>
/// <param name="logger">Logger.</param>
public sealed partial class LeftBehindTaskRelease(
    IServiceScopeFactory scopes,
    TasksInHand inHand,
    IOptions<WorkerOptions> options,
    IOptions<HeartbeatOptions> heartbeats,
    TimeProvider time,
    ILogger<LeftBehindTaskRelease> logger) : BackgroundService
{
    /// <summary>Most tasks looked at per check.</summary>
    private const int Batch = 200;

    /// <summary>Gives back this worker's running tasks that started at least one heartbeat interval ago and are not in hand.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>How many tasks it gave back.</returns>
    public async Task<int> ReleaseLeftBehindAsync(CancellationToken cancellationToken)
    {
        var workerId = options.Value.ResolvedWorkerId;
        await using var scope = scopes.CreateAsyncScope();
        var records = scope.ServiceProvider.GetRequiredService<TaskRecords>();
        var transitions = scope.ServiceProvider.GetRequiredService<TaskTransitions>();
        var startedBefore = time.GetUtcNow() - heartbeats.Value.Interval;
        var released = 0;
        foreach (var taskId in await records.RunningOnAsync(workerId, startedBefore, Batch, cancellationToken).ConfigureAwait(false))
        {
            // Looked at again here: a consume that took the task meanwhile holds it.
            if (inHand.Holds(taskId))
            {
                continue;
            }

            if (await transitions.TryReleaseAsync(taskId, workerId, $"given back by worker {workerId}: it was marked running here, but no consume of the worker held it",
                    cancellationToken, refundAttempt: true).ConfigureAwait(false))
            {
                released++;
                LogReleased(taskId, workerId);
            }
        }

        return released;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(heartbeats.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await ReleaseLeftBehindAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    // The database may be down for a while; the next check tries again.
                    LogCheckFailed(e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} was marked running on worker {WorkerId} but no consume held it; given back to the queue")]
    private partial void LogReleased(Guid taskId, string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for tasks left behind failed: {Reason}")]
    private partial void LogCheckFailed(string reason);
}
