using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Polly;
using Polly.Retry;
using Seg.Storage;

namespace Seg.Coordinator.Infrastructure;

/// <summary>
/// Applies the EF Core migrations when the coordinator starts, before the bus, the dispatcher and the API, retrying
/// while PostgreSQL comes up (containers start in any order). Registered first so the host starts it first.
/// </summary>
/// <param name="scopes">Creates the scope of the database context.</param>
/// <param name="logger">Logger.</param>
public sealed partial class DatabaseMigrator(IServiceScopeFactory scopes, ILogger<DatabaseMigrator> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // About two minutes of retries in all: long enough for a database container's first start.
        var retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<NpgsqlException>(e => e.IsTransient || e.InnerException is SocketException)
                    .Handle<SocketException>()
                    .Handle<TimeoutException>(),
                MaxRetryAttempts = 30,
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
        await retry.ExecuteAsync(async token =>
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
            await db.Database.MigrateAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        LogMigrated();
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is not reachable yet (attempt {Attempt}): {Error}")]
    private partial void LogWaiting(int attempt, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database migrations applied")]
    private partial void LogMigrated();
}
