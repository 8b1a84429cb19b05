namespace Seg.Storage.Entities;

/// <summary>
/// One task = one image of a sweep. The table is also the outbox: the dispatcher publishes pending rows
/// and marks them queued. The task's render parameters are not a column: they follow from the sweep's stored
/// definition and <see cref="TaskIndex"/> (the dispatcher expands them again), so a sweep's rows hold only what varies.
/// </summary>
public sealed class RenderTaskRecord
{
    /// <summary>Stable task id, given by the caller (the same sweep expands to the same ids).</summary>
    public Guid Id { get; set; }

    /// <summary>Owning sweep.</summary>
    public Guid SweepId { get; set; }

    /// <summary>Position of the task in the sweep's expansion; unique per sweep.</summary>
    public int TaskIndex { get; set; }

    /// <summary>Current status.</summary>
    public RenderTaskStatus Status { get; set; }

    /// <summary>Priority copied from the sweep, so dispatch ordering needs no join.</summary>
    public int Priority { get; set; }

    /// <summary>How many times a worker started this task.</summary>
    public int Attempts { get; set; }

    /// <summary>Reason of the last failure, if any.</summary>
    public string? LastError { get; set; }

    /// <summary>Worker that runs or last ran the task.</summary>
    public string? WorkerId { get; set; }

    /// <summary>Model name, kept as a column so workers and dashboards can filter by it.</summary>
    public string Model { get; set; } = "";

    /// <summary>When the task was stored (UTC); the sweep's creation time.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the task was last published to the broker (UTC).</summary>
    public DateTimeOffset? QueuedAt { get; set; }

    /// <summary>When a worker last started the task (UTC).</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the task reached a final status (UTC).</summary>
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>GPU-seconds spent on the task, summed over attempts (accounting).</summary>
    public double GpuSeconds { get; set; }

    /// <summary>
    /// How many times the coordinator sent the task's message again: no worker started it in time, the broker
    /// connection came back, or its worker stopped sending heartbeats.
    /// </summary>
    public int Resends { get; set; }

    /// <summary>
    /// W3C <c>traceparent</c> of the task's submit span (null when tracing was off at submit): the dispatch, the
    /// broker, the worker's render and the completion continue this trace, so each task has one trace.
    /// </summary>
    public string? TraceParent { get; set; }
}
