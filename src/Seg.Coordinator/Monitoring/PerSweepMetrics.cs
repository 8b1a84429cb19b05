using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage.Configurations;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Monitoring;

/// <summary>
/// The per-sweep gauges, made only when <see cref="PerSweepMetricsOptions.PerSweepMetrics"/> is on:
/// <c>seg_sweep_tasks{sweep_id,sweep_name,status}</c> (tasks by status) and <c>seg_sweep_gpu_seconds{sweep_id,sweep_name}</c>
/// (GPU-seconds spent so far) of the open sweeps, from the sweep counter rows that <see cref="TaskCountSampler"/>
/// reads. At most <see cref="PerSweepMetricsOptions.PerSweepMetricsMaxSweeps"/> sweeps get series of their own, the most
/// recently created; the rest are summed into <c>sweep_id="other"</c>. A sweep that ends leaves the sample, so its series
/// end with it (observable gauges report only what the last sample holds).
/// </summary>
public sealed class PerSweepMetrics
{
    /// <summary>The <c>sweep_id</c> (and <c>sweep_name</c>) of the series that sums the open sweeps beyond the cap.</summary>
    public const string Other = "other";

    private static readonly RenderTaskStatus[] Statuses = Enum.GetValues<RenderTaskStatus>();
    private IReadOnlyList<SweepSeries> _series = [];

    /// <summary>Creates the gauges when the option is on, on a meter of the host's own (disposed with it).</summary>
    /// <param name="meters">The host's meter factory.</param>
    /// <param name="options">The option and its cap.</param>
    public PerSweepMetrics(IMeterFactory meters, IOptions<PerSweepMetricsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(options);
        Enabled = options.Value.PerSweepMetrics;
        MaxSweeps = options.Value.PerSweepMetricsMaxSweeps;
        if (!Enabled)
        {
            return;
        }

        // The host's meter rather than the static SegTelemetry.Meter: its gauges go away with the host, so that no
        // sample of a stopped coordinator is reported by another one in the same process.
        var meter = meters.Create(SegTelemetry.Name);
        meter.CreateObservableGauge("seg.sweep.tasks", ObserveTasks, "{task}", $"Tasks of the {MaxSweeps} most recent open sweeps by status (the others summed as sweep_id=\"{Other}\")");
        meter.CreateObservableGauge("seg.sweep.gpu_seconds", ObserveGpuSeconds, "s", $"GPU-seconds spent by the {MaxSweeps} most recent open sweeps (the others summed as sweep_id=\"{Other}\")");
    }

    /// <summary>Whether the per-sweep series are exported.</summary>
    public bool Enabled { get; }

    /// <summary>Most sweeps with series of their own.</summary>
    public int MaxSweeps { get; }

    /// <summary>
    /// Takes the open sweeps' latest counters: the <see cref="MaxSweeps"/> most recently created (ties by id) keep their
    /// own series, the others are summed into <see cref="Other"/>.
    /// </summary>
    /// <param name="open">Every open sweep's counters.</param>
    public void Set(IReadOnlyList<OpenSweepCounters> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        if (!Enabled)
        {
            return;
        }

        var newestFirst = open.OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Counters.SweepId).ToList();
        var series = newestFirst.Take(MaxSweeps)
            .Select(s => new SweepSeries(s.Counters.SweepId.ToString(), s.Name, Statuses.Select(status => (long)s.Counters.Of(status)).ToArray(), s.Counters.GpuSeconds))
            .ToList();
        var rest = newestFirst.Skip(MaxSweeps).ToList();
        if (rest.Count > 0)
        {
            series.Add(new SweepSeries(Other, Other, Statuses.Select(status => rest.Sum(s => (long)s.Counters.Of(status))).ToArray(), rest.Sum(s => s.Counters.GpuSeconds)));
        }

        Volatile.Write(ref _series, series);
    }

    private IEnumerable<Measurement<long>> ObserveTasks() =>
        Volatile.Read(ref _series).SelectMany(s => Statuses.Select((status, i) => new Measurement<long>(s.Tasks[i],
            new KeyValuePair<string, object?>("sweep_id", s.Id), new KeyValuePair<string, object?>("sweep_name", s.Name),
            new KeyValuePair<string, object?>("status", LowerCaseEnumConverter<RenderTaskStatus>.ToText(status)))));

    private IEnumerable<Measurement<double>> ObserveGpuSeconds() =>
        Volatile.Read(ref _series).Select(s => new Measurement<double>(s.GpuSeconds,
            new KeyValuePair<string, object?>("sweep_id", s.Id), new KeyValuePair<string, object?>("sweep_name", s.Name)));

    /// <summary>One sweep's series (or the sum of the sweeps beyond the cap).</summary>
    /// <param name="Id">The <c>sweep_id</c> label.</param>
    /// <param name="Name">The <c>sweep_name</c> label.</param>
    /// <param name="Tasks">Tasks per status, in the order of <see cref="Statuses"/>.</param>
    /// <param name="GpuSeconds">GPU-seconds spent so far.</param>
    private sealed record SweepSeries(string Id, string Name, long[] Tasks, double GpuSeconds);
}

/// <summary>An open sweep's counter row with what the per-sweep series need of the sweep.</summary>
/// <param name="Counters">The counter row.</param>
/// <param name="Name">The sweep's name.</param>
/// <param name="CreatedAt">When the sweep was stored (newest sweeps get their own series first).</param>
public sealed record OpenSweepCounters(SweepCounters Counters, string Name, DateTimeOffset CreatedAt);
