using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Seg.Coordinator.Dispatch;
using Seg.Storage;
using Seg.Storage.Faults;

namespace Seg.Coordinator.Infrastructure;

/// <summary>
/// Brings the schema up to date when the coordinator starts, before the bus, the dispatcher and the API, with
/// <see cref="SegDatabaseInitializer.InitializeAsync"/>: the EF Core migrations on PostgreSQL, retried while the
/// server comes up (containers start in any order); the schema created from the model on SQLite (standalone mode).
/// Registered first so the host starts it, and waits for it, first. With
/// <see cref="CoordinatorOptions.RecoverInFlightAtStart"/> it then runs <see cref="InFlightRecovery"/>.
/// </summary>
/// <param name="scopes">Creates the scope of the database context.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class DatabaseMigrator(IServiceScopeFactory scopes, IOptions<CoordinatorOptions> options, ILogger<DatabaseMigrator> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Retries for up to Coordinator:DatabaseStartTimeoutSeconds (two minutes: a database container's first start);
        // past that the start fails, a fatal error: the process exits non-zero and its orchestrator restarts it.
        var retry = new ResiliencePipelineBuilder()
            .AddTimeout(TimeSpan.FromSeconds(options.Value.DatabaseStartTimeoutSeconds))
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(StorageFaults.IsTransient),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.FromSeconds(0.5),
                MaxDelay = TimeSpan.FromSeconds(5),
                BackoffType = DelayBackoffType.Exponential,
                OnRetry = args =>
                {
                    LogWaiting(args.AttemptNumber + 1, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        var provider = SegDatabaseProvider.PostgreSql;
        await retry.ExecuteAsync(async token =>
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
            await SegDatabaseInitializer.InitializeAsync(db, token).ConfigureAwait(false);
            provider = db.Provider;
        }, cancellationToken).ConfigureAwait(false);
        LogReady(provider);

        if (options.Value.RecoverInFlightAtStart)
        {
            await using var scope = scopes.CreateAsyncScope();
            var recovered = await scope.ServiceProvider.GetRequiredService<InFlightRecovery>().RecoverAsync(cancellationToken).ConfigureAwait(false);
            LogRecovered(recovered.TasksRequeued, recovered.TasksCancelled, recovered.SweepsCompleted);
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is not reachable yet (attempt {Attempt}): {Error}")]
    private partial void LogWaiting(int attempt, string? error);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Tasks left in flight by an earlier run: {Requeued} put back to pending, {Cancelled} cancelled; {Completed} sweeps completed")]
    private partial void LogRecovered(int requeued, int cancelled, int completed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema ready ({Provider})")]
    private partial void LogReady(SegDatabaseProvider provider);
}
