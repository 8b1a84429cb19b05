namespace Seg.Storage.Entities;

/// <summary>
/// A sweep's task counts per status, resends and GPU-seconds, kept by database triggers on <c>render_tasks</c> in the
/// same transaction as every task change (<see cref="Sql.SweepCounterTriggers"/>), so that a sweep's progress is read
/// in constant time however many tasks it has. One row per sweep, created with it.
/// </summary>
public sealed class SweepCounters
{
    /// <summary>The sweep.</summary>
    public Guid SweepId { get; set; }

    /// <summary>Tasks pending.</summary>
    public int Pending { get; set; }

    /// <summary>Tasks queued.</summary>
    public int Queued { get; set; }

    /// <summary>Tasks running.</summary>
    public int Running { get; set; }

    /// <summary>Tasks succeeded.</summary>
    public int Succeeded { get; set; }

    /// <summary>Tasks failed.</summary>
    public int Failed { get; set; }

    /// <summary>Tasks cancelled.</summary>
    public int Cancelled { get; set; }

    /// <summary>Task messages sent again, summed over the tasks.</summary>
    public int Resends { get; set; }

    /// <summary>GPU-seconds spent, summed over the tasks.</summary>
    public double GpuSeconds { get; set; }

    /// <summary>The count of <paramref name="status"/>.</summary>
    /// <param name="status">A task status.</param>
    /// <returns>Tasks in that status.</returns>
    public int Of(RenderTaskStatus status) => status switch
    {
        RenderTaskStatus.Pending => Pending,
        RenderTaskStatus.Queued => Queued,
        RenderTaskStatus.Running => Running,
        RenderTaskStatus.Succeeded => Succeeded,
        RenderTaskStatus.Failed => Failed,
        RenderTaskStatus.Cancelled => Cancelled,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown task status"),
    };
}
