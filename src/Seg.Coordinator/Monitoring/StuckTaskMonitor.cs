using Microsoft.Extensions.Options;
using Seg.Coordinator.IntegrationEvents;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Monitoring;

/// <summary>
/// Looks for stuck tasks every <see cref="CoordinatorOptions.StuckTaskCheckIntervalSeconds"/>, logs each one once
/// and counts it; the API shows them with their sweep (<c>stuckTasks</c>). At the same interval it completes the open
/// sweeps whose tasks have all ended: their last task's event, which completes a sweep, can be lost with a broker that
/// restarts empty, and no other event of the sweep would come.
/// </summary>
/// <param name="scopes">Creates a scope per check.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="metrics">Counters.</param>
/// <param name="logger">Logger.</param>
public sealed partial class StuckTaskMonitor(
    IServiceScopeFactory scopes,
    IOptions<CoordinatorOptions> options,
    CoordinatorMetrics metrics,
    ILogger<StuckTaskMonitor> logger) : BackgroundService
{
    private readonly HashSet<Guid> _reported = [];

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.StuckTaskCheckIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await CheckAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var stuck = await scope.ServiceProvider.GetRequiredService<StuckTaskQuery>().FindAsync(null, cancellationToken).ConfigureAwait(false);
            foreach (var task in stuck.Where(t => _reported.Add(t.TaskId)))
            {
                metrics.TaskStuck();
                LogStuck(task.TaskId, task.SweepId, task.WorkerId, task.RunningSeconds, task.ExpectedSeconds);
            }

            // Forget tasks that are no longer stuck, so the set stays as small as the running tasks.
            _reported.IntersectWith(stuck.Select(t => t.TaskId));

            var progress = scope.ServiceProvider.GetRequiredService<SweepProgress>();
            foreach (var sweepId in await scope.ServiceProvider.GetRequiredService<SweepTransitions>().OpenWithNoActiveTaskAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await progress.TryCompleteAsync(sweepId, cancellationToken).ConfigureAwait(false) is { } status)
                {
                    LogCompletedLate(sweepId, status.ToString().ToLowerInvariant());
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCheckFailed(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Task {TaskId} of sweep {SweepId} has been running on worker {WorkerId} for {RunningSeconds:F0} s, expected at most {ExpectedSeconds:F0} s")]
    private partial void LogStuck(Guid taskId, Guid sweepId, string? workerId, double runningSeconds, double expectedSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep {SweepId} completed by the periodic check ({Status}): every task had ended, but the event of the last one never arrived")]
    private partial void LogCompletedLate(Guid sweepId, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stuck-task check failed")]
    private partial void LogCheckFailed(Exception exception);
}
