using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Seg.Worker.Devices;

/// <summary>
/// Runs before the bus starts: checks that every configured device can be used (so a CUDA worker on a machine
/// without a usable GPU stops at startup with a clear message instead of failing tasks), and says loudly when the
/// worker only fakes its renders.
/// </summary>
/// <param name="pool">The render slots.</param>
/// <param name="options">Worker options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class DeviceCheckService(PipelinePool pool, IOptions<WorkerOptions> options, ILogger<DeviceCheckService> logger) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.RenderMode == RenderMode.Fake)
        {
            LogFakeMode();
        }
        else
        {
            pool.CheckDevices();
        }

        LogStarted(settings.ResolvedWorkerId, settings.QueueName, pool.Slots.Count, string.Join(", ", pool.Devices), settings.RenderModeName);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker:RenderMode is fake: tasks get a small placeholder PNG made without ONNX, not a real render. " +
        "Use it only to benchmark the farm; heartbeats and provenance say 'fake'.")]
    private partial void LogFakeMode();

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} consumes queue {Queue} with {Slots} slot(s) on {Devices} ({Mode} render mode)")]
    private partial void LogStarted(string workerId, string queue, int slots, string devices, string mode);
}
