using System.Diagnostics.Metrics;
using Seg.ServiceDefaults;

namespace Seg.Coordinator;

/// <summary>The coordinator's counters, on the shared <see cref="SegTelemetry.Meter"/>.</summary>
public sealed class CoordinatorMetrics
{
    private readonly Counter<long> _sweepsSubmitted = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.sweeps.submitted", "{sweep}", "Sweeps stored");
    private readonly Counter<long> _sweepsEnded = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.sweeps.ended", "{sweep}", "Sweeps that reached a final status");
    private readonly Counter<long> _tasksDispatched = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.dispatched", "{task}", "Render task messages sent to the workers");
    private readonly Counter<long> _tasksEnded = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.ended", "{task}", "Task outcomes reported by the workers");
    private readonly Counter<long> _tasksStuck = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.stuck", "{task}", "Running tasks noticed to run far longer than their sweep's median");
    private readonly Counter<long> _tasksResent = SegTelemetry.Meter.CreateCounter<long>("seg.tasks.resent", "{task}", "Render task messages sent again (lost or orphaned), by reason");
    private readonly Histogram<double> _taskGpuSeconds = SegTelemetry.Meter.CreateHistogram<double>("seg.coordinator.task.gpu_seconds", "s", "GPU-seconds per rendered image");

    /// <summary>A sweep was stored with this many tasks.</summary>
    public void SweepSubmitted() => _sweepsSubmitted.Add(1);

    /// <summary>A sweep reached <paramref name="status"/>.</summary>
    public void SweepEnded(string status) => _sweepsEnded.Add(1, new KeyValuePair<string, object?>("status", status));

    /// <summary>Messages were sent for <paramref name="count"/> tasks.</summary>
    public void TasksDispatched(int count) => _tasksDispatched.Add(count);

    /// <summary>A task ended with <paramref name="outcome"/> (<c>succeeded</c>, <c>failed</c>, <c>faulted</c>).</summary>
    public void TaskEnded(string outcome, double gpuSeconds = 0)
    {
        _tasksEnded.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome == "succeeded")
        {
            _taskGpuSeconds.Record(gpuSeconds);
        }
    }

    /// <summary>
    /// <paramref name="count"/> tasks' messages were sent again, for <paramref name="reason"/> (<c>not_started</c>,
    /// <c>broker_reconnected</c>, <c>worker_stale</c>). Prometheus: <c>seg_tasks_resent_total</c>.
    /// </summary>
    public void TasksResent(int count, string reason) => _tasksResent.Add(count, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A running task was noticed to be stuck.</summary>
    public void TaskStuck() => _tasksStuck.Add(1);
}
