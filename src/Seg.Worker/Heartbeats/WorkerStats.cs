using System.Diagnostics.Metrics;
using Seg.ServiceDefaults;
using Seg.Worker.Devices;

namespace Seg.Worker.Heartbeats;

/// <summary>
/// What the worker has done since it started, for heartbeats (tasks done, recent throughput) and for the
/// <c>seg.worker.tasks</c> counter and <c>seg.worker.render.duration</c> histogram.
/// </summary>
public sealed class WorkerStats
{
    /// <summary>Throughput is averaged over this window (or the uptime, when shorter).</summary>
    public static readonly TimeSpan ThroughputWindow = TimeSpan.FromMinutes(5);

    private static readonly Counter<long> Tasks = SegTelemetry.Meter.CreateCounter<long>("seg.worker.tasks", description: "Tasks a worker finished, by outcome.");
    private static readonly Histogram<double> StageSeconds = SegTelemetry.Meter.CreateHistogram<double>("seg.render.stage.duration", "s", "Seconds per render stage (encode_prompt, denoise, decode, encode_png, upload, ...).");
    private static readonly Counter<double> GpuSeconds = SegTelemetry.Meter.CreateCounter<double>("seg.worker.gpu_seconds", "s", "GPU-seconds spent rendering, by model.");
    private static readonly Histogram<double> RenderSeconds = SegTelemetry.Meter.CreateHistogram<double>("seg.worker.render.duration", "s", "GPU-seconds per rendered task.");

    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly Queue<DateTimeOffset> _recent = new();
    private readonly Lock _lock = new();
    private long _done;

    /// <summary>Creates the statistics, starting now.</summary>
    /// <param name="time">Clock.</param>
    /// <param name="pool">The render slots, for the slot gauges.</param>
    public WorkerStats(TimeProvider time, PipelinePool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _time = time;
        _started = time.GetUtcNow();
        // Slots per device: a handful of series (devices), read from the pool at each scrape.
        SegTelemetry.Meter.CreateObservableGauge("seg.worker.slots", () => pool.SlotUsage().Select(u => new Measurement<int>(u.Total, Device(u.Device))),
            "{slot}", "Render slots per device");
        SegTelemetry.Meter.CreateObservableGauge("seg.worker.slots.busy", () => pool.SlotUsage().Select(u => new Measurement<int>(u.Busy, Device(u.Device))),
            "{slot}", "Render slots rendering now, per device");
        foreach (var outcome in (string[])["succeeded", "failed", "failed_permanent"])
        {
            Tasks.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <summary>
    /// Records a fresh render: its seconds per stage (<see cref="Seg.Contracts.Messages.Stages"/>) in <c>seg.render.stage.duration</c>
    /// and its GPU-seconds in <c>seg.worker.gpu_seconds</c> by model (models are few; tasks and sweeps are not labels).
    /// </summary>
    /// <param name="model">The task's model name.</param>
    /// <param name="stageSeconds">Seconds per stage, as the provenance records them.</param>
    /// <param name="gpuSeconds">The render's GPU-seconds.</param>
    public static void RecordRender(string model, IReadOnlyDictionary<string, double> stageSeconds, double gpuSeconds)
    {
        ArgumentNullException.ThrowIfNull(stageSeconds);
        foreach (var (stage, seconds) in stageSeconds)
        {
            StageSeconds.Record(seconds, new KeyValuePair<string, object?>("stage", stage));
        }

        GpuSeconds.Add(gpuSeconds, new KeyValuePair<string, object?>("model", model));
    }

    private static KeyValuePair<string, object?> Device(string device) => new("device", device);

    /// <summary>Tasks that succeeded on this worker since it started.</summary>
    public long TasksDone => Interlocked.Read(ref _done);

    /// <summary>Counts a task this worker finished successfully.</summary>
    /// <param name="gpuSeconds">GPU-seconds of its render (0 when it only completed an earlier attempt).</param>
    public void RecordSucceeded(double gpuSeconds)
    {
        Interlocked.Increment(ref _done);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            _recent.Enqueue(now);
            Trim(now);
        }

        Tasks.Add(1, new KeyValuePair<string, object?>("outcome", "succeeded"));
        if (gpuSeconds > 0)
        {
            RenderSeconds.Record(gpuSeconds);
        }
    }

    /// <summary>Counts a task this worker failed (permanently, or after its retries).</summary>
    /// <param name="permanent">Whether the failure was permanent.</param>
    public static void RecordFailed(bool permanent) =>
        Tasks.Add(1, new KeyValuePair<string, object?>("outcome", permanent ? "failed_permanent" : "failed"));

    /// <summary>Counts a round of waiting out a transient fault (database, blob store or broker down) before a redelivery.</summary>
    public static void RecordRedelivery() => Tasks.Add(1, new KeyValuePair<string, object?>("outcome", "redelivery_wait"));

    /// <summary>Tasks per minute over the last <see cref="ThroughputWindow"/> (or the uptime, when shorter).</summary>
    /// <returns>Images per minute.</returns>
    public double ThroughputPerMinute()
    {
        var now = _time.GetUtcNow();
        int count;
        lock (_lock)
        {
            Trim(now);
            count = _recent.Count;
        }

        var minutes = Math.Min(ThroughputWindow.TotalMinutes, (now - _started).TotalMinutes);
        return count == 0 || minutes <= 0 ? 0 : count / Math.Max(minutes, 1.0 / 60);
    }

    private void Trim(DateTimeOffset now)
    {
        while (_recent.Count > 0 && now - _recent.Peek() > ThroughputWindow)
        {
            _recent.Dequeue();
        }
    }
}
