using System.ComponentModel.DataAnnotations;
using Seg.ServiceDefaults;

namespace Seg.Coordinator.Monitoring;

/// <summary>
/// Per-sweep series on the coordinator's <c>/metrics</c> (<see cref="PerSweepMetrics"/>), bound from the
/// <c>Telemetry</c> section beside <see cref="TelemetryOptions"/> (<c>Telemetry__PerSweepMetrics</c>,
/// <c>Telemetry__PerSweepMetricsMaxSweeps</c>) and checked at start. A coordinator setting only: the worker knows no
/// sweeps, so these keys stay out of the shared <see cref="TelemetryOptions"/> (a worker given them is told it ignores
/// them by the deploy checks instead of accepting them silently).
/// </summary>
public sealed record PerSweepMetricsOptions
{
    /// <summary>The configuration section name (shared with <see cref="TelemetryOptions"/>).</summary>
    public const string Section = TelemetryOptions.Section;

    /// <summary>
    /// Export <c>seg_sweep_tasks{sweep_id,sweep_name,status}</c> and <c>seg_sweep_gpu_seconds{sweep_id,sweep_name}</c>
    /// for the open sweeps. Off by default: each sweep is a new set of series in Prometheus.
    /// </summary>
    public bool PerSweepMetrics { get; init; }

    /// <summary>
    /// Most sweeps with series of their own: the most recently created open ones. The other open sweeps are summed into
    /// one <c>sweep_id="other"</c> series, so that the per-sweep series add up to <c>seg_tasks</c>. Default 20.
    /// </summary>
    [Range(1, 1000)]
    public int PerSweepMetricsMaxSweeps { get; init; } = 20;
}
