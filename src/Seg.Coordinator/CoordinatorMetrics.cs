using System.Diagnostics.Metrics;
using Seg.ServiceDefaults;
using Seg.Storage.Entities;

namespace Seg.Coordinator;

/// <summary>
/// The coordinator's counters and gauges, on the shared <see cref="SegTelemetry.Meter"/>. Labels stay few (status,
/// outcome, failure class): never one per task, and one per sweep only in <see cref="Monitoring.PerSweepMetrics"/>, an
/// option with a cap, so Prometheus keeps a handful of series per metric.
/// </summary>
public sealed class CoordinatorMetrics
{
    /// <summary>Failure classes of <c>seg.tasks.failed</c>: the task's own problem, transient faults after the worker's retries, a faulted message.</summary>
    public static readonly IReadOnlyList<string> FailureClasses = ["permanent", "retries_exhausted", "faulted"];

    /// <summary>Why a task's message was sent again: the <c>reason</c> label of <c>seg_tasks_resent_total</c>.</summary>
    public static readonly IReadOnlyList<string> ResendReasons = ["not_started", "broker_reconnected", "worker_stale", Storage.Audit.BlobAudit.ResendReason];

    private readonly Counter<long> _sweepsSubmitted = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.sweeps.submitted", "{sweep}", "Sweeps stored");
    private readonly Counter<long> _sweepsEnded = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.sweeps.ended", "{sweep}", "Sweeps that reached a final status");
    private readonly Counter<long> _tasksDispatched = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.dispatched", "{task}", "Render task messages sent to the workers");
    private readonly Counter<long> _tasksEnded = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.ended", "{task}", "Task outcomes reported by the workers");
    private readonly Counter<long> _tasksStuck = SegTelemetry.Meter.CreateCounter<long>("seg.coordinator.tasks.stuck", "{task}", "Running tasks noticed to run far longer than their sweep's median");
    private readonly Counter<long> _tasksFailed = SegTelemetry.Meter.CreateCounter<long>("seg.tasks.failed", "{task}", "Tasks that failed, by class");
    private readonly Counter<long> _tasksResent = SegTelemetry.Meter.CreateCounter<long>("seg.tasks.resent", "{task}", "Render task messages sent again (lost or orphaned), by reason");
    private readonly Histogram<double> _taskGpuSeconds = SegTelemetry.Meter.CreateHistogram<double>("seg.coordinator.task.gpu_seconds", "s", "GPU-seconds per rendered image");
    private TaskStatusCounts _counts = TaskStatusCounts.Empty;

    /// <summary>Creates the instruments; the counters start at 0 so that every series exists before its first event.</summary>
    public CoordinatorMetrics()
    {
        foreach (var failureClass in FailureClasses)
        {
            _tasksFailed.Add(0, new KeyValuePair<string, object?>("class", failureClass));
        }

        foreach (var reason in ResendReasons)
        {
            _tasksResent.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        _tasksDispatched.Add(0);
        SegTelemetry.Meter.CreateObservableGauge("seg.tasks", ObserveTasks, "{task}", "Tasks of the open sweeps, by status (sampled from the database)");
        SegTelemetry.Meter.CreateObservableGauge("seg.tasks.in_flight", () => Volatile.Read(ref _counts).InFlight, "{task}",
            "Tasks sent to the workers and not finished (queued or running)");
        SegTelemetry.Meter.CreateObservableGauge("seg.queue.depth", () => Volatile.Read(ref _counts).Of(RenderTaskStatus.Queued), "{task}",
            "Tasks waiting in the broker's queue (queued, not yet started)");
    }

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
    /// <c>broker_reconnected</c>, <c>worker_stale</c>, <c>blob_lost</c>: rendered again because the blob store lost the
    /// image). Prometheus: <c>seg_tasks_resent_total</c>.
    /// </summary>
    public void TasksResent(int count, string reason) => _tasksResent.Add(count, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A task failed; <paramref name="failureClass"/> is one of <see cref="FailureClasses"/>.</summary>
    public void TaskFailed(string failureClass) => _tasksFailed.Add(1, new KeyValuePair<string, object?>("class", failureClass));

    /// <summary>A running task was noticed to be stuck.</summary>
    public void TaskStuck() => _tasksStuck.Add(1);

    /// <summary>The latest task counts of the open sweeps (from <see cref="Monitoring.TaskCountSampler"/>).</summary>
    public void SetTaskCounts(TaskStatusCounts counts) => Volatile.Write(ref _counts, counts);

    private IEnumerable<Measurement<long>> ObserveTasks() =>
        Enum.GetValues<RenderTaskStatus>().Select(status => new Measurement<long>(Volatile.Read(ref _counts).Of(status),
            new KeyValuePair<string, object?>("status", Storage.Configurations.LowerCaseEnumConverter<RenderTaskStatus>.ToText(status))));
}

/// <summary>Task counts by status over the open sweeps, as one consistent sample.</summary>
/// <param name="ByStatus">Count per status (absent: 0).</param>
public sealed record TaskStatusCounts(IReadOnlyDictionary<RenderTaskStatus, long> ByStatus)
{
    /// <summary>No tasks.</summary>
    public static readonly TaskStatusCounts Empty = new(new Dictionary<RenderTaskStatus, long>());

    /// <summary>Queued and running tasks.</summary>
    public long InFlight => Of(RenderTaskStatus.Queued) + Of(RenderTaskStatus.Running);

    /// <summary>The count of <paramref name="status"/>.</summary>
    /// <param name="status">A status.</param>
    /// <returns>The count.</returns>
    public long Of(RenderTaskStatus status) => ByStatus.GetValueOrDefault(status);
}
