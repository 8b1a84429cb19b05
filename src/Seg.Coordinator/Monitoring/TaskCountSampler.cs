using Microsoft.EntityFrameworkCore;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Monitoring;

/// <summary>
/// Counts the tasks of the open sweeps by status every <see cref="Interval"/> for the <c>seg.tasks</c>,
/// <c>seg.tasks.in_flight</c> and <c>seg.queue.depth</c> gauges. Sampled in the background because a scrape must not
/// wait on the database, and restricted to open sweeps because finished ones only grow (their totals are the counters').
/// The same sample feeds the per-sweep series when they are on (<see cref="PerSweepMetrics"/>).
/// </summary>
/// <param name="scopes">Creates a scope (a database context) per sample.</param>
/// <param name="metrics">Where the sample goes.</param>
/// <param name="perSweep">Where the sample goes per sweep (when that option is on).</param>
/// <param name="logger">Logger.</param>
public sealed partial class TaskCountSampler(IServiceScopeFactory scopes, CoordinatorMetrics metrics, PerSweepMetrics perSweep, ILogger<TaskCountSampler> logger) : BackgroundService
{
    /// <summary>Time between samples: finer than Prometheus' usual 15 s scrape interval.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private static readonly SweepStatus[] Open = [SweepStatus.Pending, SweepStatus.Running, SweepStatus.Paused];

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
            // The open sweeps' counter rows (one per sweep, kept with every task change), not a scan of their tasks.
            var open = await (from c in db.SweepCounters.AsNoTracking()
                              join s in db.Sweeps on c.SweepId equals s.Id
                              where Open.Contains(s.Status)
                              select new OpenSweepCounters(c, s.Name, s.CreatedAt))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var counts = Enum.GetValues<RenderTaskStatus>().ToDictionary(status => status, status => open.Sum(o => (long)o.Counters.Of(status)));
            metrics.SetTaskCounts(new TaskStatusCounts(counts));
            perSweep.Set(open);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database may be down for a while (an outage is waited out): keep the last sample, say so once per try.
            LogSampleFailed(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampling the task counts for the metrics failed")]
    private partial void LogSampleFailed(Exception exception);
}
