using Microsoft.Extensions.Options;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// The dispatcher: the task table is the outbox. Runs a <see cref="DispatchRound"/> whenever
/// <see cref="DispatchSignal"/> wakes it, and otherwise every <see cref="CoordinatorOptions.DispatchIntervalMs"/>.
/// </summary>
/// <param name="scopes">Creates a scope (database context) per round.</param>
/// <param name="signal">Wake-ups.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class TaskDispatcher(
    IServiceScopeFactory scopes,
    DispatchSignal signal,
    IOptions<CoordinatorOptions> options,
    ILogger<TaskDispatcher> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.DispatchIntervalMs);
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
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dispatch round took {Count} pending tasks")]
    private partial void LogTaken(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch round failed; retrying at the next tick")]
    private partial void LogRoundFailed(Exception exception);
}
