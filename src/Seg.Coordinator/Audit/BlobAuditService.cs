using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Seg.Coordinator.Dispatch;
using Seg.Storage.Audit;
using Seg.Storage.Blobs;

namespace Seg.Coordinator.Audit;

/// <summary>
/// Runs the <see cref="BlobAudit"/> that renders again the images a blob store lost: when a worker reports that it
/// created the container again (<see cref="IntegrationEvents.BlobContainerRecreatedConsumer"/> calls
/// <see cref="Request"/>), at start when the container is missing, and every
/// <see cref="CoordinatorOptions.BlobAuditIntervalSeconds"/> when set (a store emptied while no worker wrote to it). Requests
/// that come while an audit runs make one more audit after it; an audit that fails (the store or the database is away)
/// is tried again with a backoff until one succeeds.
/// </summary>
/// <param name="scopes">Creates a scope (database context) per audit.</param>
/// <param name="inventory">The store, for the check at start.</param>
/// <param name="signal">Wakes the dispatcher when tasks were requeued.</param>
/// <param name="metrics">Counters (<c>seg_tasks_resent_total{reason="blob_lost"}</c>).</param>
/// <param name="options">Coordinator options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class BlobAuditService(
    IServiceScopeFactory scopes,
    IImageBlobInventory inventory,
    DispatchSignal signal,
    CoordinatorMetrics metrics,
    IOptions<CoordinatorOptions> options,
    ILogger<BlobAuditService> logger) : BackgroundService
{
    private static readonly TimeSpan StartCheckTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);

    // Capacity 1, extra writes dropped: one pending request is all the loop needs to know.
    private readonly Channel<string> _requests = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Asks for an audit as soon as possible (several requests before it starts make one audit).</summary>
    /// <param name="reason">Why, for the log.</param>
    public void Request(string reason) => _requests.Writer.TryWrite(reason);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await CheckStoreAtStartAsync(stoppingToken).ConfigureAwait(false);
            var interval = options.Value.BlobAuditIntervalSeconds > 0 ? TimeSpan.FromSeconds(options.Value.BlobAuditIntervalSeconds) : Timeout.InfiniteTimeSpan;
            while (!stoppingToken.IsCancellationRequested)
            {
                var reason = await NextRequestAsync(interval, stoppingToken).ConfigureAwait(false);
                await AuditUntilDoneAsync(reason, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A missing container at start means the store lost everything (or the farm is new, with nothing to lose).</summary>
    private async Task CheckStoreAtStartAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(StartCheckTimeout);
        try
        {
            if (!await inventory.StoreExistsAsync(timeout.Token).ConfigureAwait(false))
            {
                Request("the image container is missing at start");
            }
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // The store is away: the workers' uploads report a recreated container once it is back.
            LogStartCheckFailed(e);
        }
    }

    /// <summary>The next request's reason, or the periodic audit's once <paramref name="interval"/> has passed.</summary>
    private async Task<string> NextRequestAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timer.CancelAfter(interval);
        try
        {
            return await _requests.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return "periodic audit (Coordinator:BlobAuditIntervalSeconds)";
        }
    }

    private async Task AuditUntilDoneAsync(string reason, CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        while (true)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                LogAuditStarted(reason);
                var result = await scope.ServiceProvider.GetRequiredService<BlobAudit>().RunAsync(stoppingToken).ConfigureAwait(false);
                if (result.Requeued > 0)
                {
                    metrics.TasksResent(result.Requeued, BlobAudit.ResendReason);
                    signal.Notify();
                    LogRequeued(result.Requeued, result.RowsChecked, result.SweepsReopened, string.Join(", ", result.FirstRequeued));
                }
                else
                {
                    LogNothingLost(result.RowsChecked, result.Missing);
                }

                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogAuditFailed(e, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob audit: {Reason}")]
    private partial void LogAuditStarted(string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Blob audit: {Requeued} images were missing from the blob store; their tasks are rendered again ({Rows} provenance rows checked, {Reopened} ended sweeps reopened); first: {TaskIds}")]
    private partial void LogRequeued(int requeued, long rows, int reopened, string taskIds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob audit: every image is in the store ({Rows} provenance rows checked, {Missing} looked up again)")]
    private partial void LogNothingLost(long rows, int missing);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob audit failed; trying again in {Seconds} s")]
    private partial void LogAuditFailed(Exception exception, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check at start that the image container exists")]
    private partial void LogStartCheckFailed(Exception exception);
}
