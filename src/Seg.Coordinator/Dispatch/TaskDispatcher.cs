using Microsoft.Extensions.Options;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// The dispatcher: the task table is the outbox. Runs a <see cref="DispatchRound"/> whenever
/// <see cref="DispatchSignal"/> wakes it, and otherwise every <see cref="CoordinatorOptions.DispatchIntervalSeconds"/>.
/// The first round waits until the host has started, so the bus is started (whichever order the host's services
/// were registered in) and the schema is ready before anything is sent.
/// </summary>
/// <param name="scopes">Creates a scope (database context) per round.</param>
/// <param name="signal">Wake-ups.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="lifetime">Tells when the host has started.</param>
/// <param name="logger">Logger.</param>
public sealed partial class TaskDispatcher(
    IServiceScopeFactory scopes,
    DispatchSignal signal,
    IOptions<CoordinatorOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<TaskDispatcher> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await HostStartedAsync(stoppingToken).ConfigureAwait(false))
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(options.Value.DispatchIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int taken;
                do
                {
                    await using var scope = scopes.CreateAsyncScope();
                    taken = await scope.ServiceProvider.GetRequiredService<DispatchRound>().RunAsync(stoppingToken).ConfigureAwait(false);
                    if (taken > 0)
                    {
                        LogTaken(taken);
                    }
                }
                while (taken > 0); // the room may not be full yet (a sweep was skipped, tasks ended meanwhile)
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database or the broker is away: try again at the next tick.
                LogRoundFailed(e);
            }

            try
            {
                await signal.WaitAsync(interval, stoppingToken).ConfigureAwait(false);
                if (options.Value.DispatchCoalesceSeconds > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(options.Value.DispatchCoalesceSeconds), stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Waits until every hosted service has started; false when the host stops first.</summary>
    private async Task<bool> HostStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult()).ConfigureAwait(false);
        try
        {
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dispatch round took {Count} pending tasks")]
    private partial void LogTaken(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch round failed; retrying at the next tick")]
    private partial void LogRoundFailed(Exception exception);
}
