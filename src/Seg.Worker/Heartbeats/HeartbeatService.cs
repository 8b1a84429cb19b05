using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.ServiceDefaults;
using Seg.Worker.Devices;

namespace Seg.Worker.Heartbeats;

/// <summary>
/// Publishes a <see cref="WorkerHeartbeat"/> every <see cref="HeartbeatOptions.IntervalSeconds"/>: the
/// worker's devices, slots, busy slots, loaded models, tasks done, throughput, version and render mode. It keeps
/// beating while the worker drains on shutdown (it stops after the bus).
/// </summary>
/// <param name="bus">The bus.</param>
/// <param name="pool">The render slots.</param>
/// <param name="stats">Task statistics.</param>
/// <param name="options">Worker options.</param>
/// <param name="heartbeats">The heartbeat interval.</param>
/// <param name="time">Clock.</param>
/// <param name="logger">Logger.</param>
public sealed partial class HeartbeatService(
    IBus bus,
    PipelinePool pool,
    WorkerStats stats,
    IOptions<WorkerOptions> options,
    IOptions<HeartbeatOptions> heartbeats,
    TimeProvider time,
    ILogger<HeartbeatService> logger) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value;

    /// <summary>The heartbeat as of now.</summary>
    /// <returns>The message.</returns>
    public WorkerHeartbeat Current() => new(
        _options.ResolvedWorkerId,
        Environment.MachineName,
        pool.Devices,
        pool.Slots.Count,
        pool.BusySlots,
        pool.ModelsCached,
        stats.TasksDone,
        Math.Round(stats.ThroughputPerMinute(), 3),
        WorkerVersion.Current,
        time.GetUtcNow())
    {
        RenderMode = _options.RenderModeName,
    };

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(heartbeats.Value.Interval, time);
        try
        {
            do
            {
                await BeatAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task BeatAsync(CancellationToken stoppingToken)
    {
        try
        {
            await bus.Publish(Current(), stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // The broker may be down or the bus stopped; the next beat tries again.
            LogNotPublished(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat not published: {Error}")]
    private partial void LogNotPublished(string error);
}
