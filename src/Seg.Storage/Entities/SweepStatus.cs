namespace Seg.Storage.Entities;

/// <summary>Life cycle of a sweep. Stored as lower-case text (e.g. <c>running</c>).</summary>
public enum SweepStatus
{
    /// <summary>Stored, no task has started yet.</summary>
    Pending,

    /// <summary>At least one task has been dispatched or started.</summary>
    Running,

    /// <summary>Dispatch is held back; tasks already queued or running finish.</summary>
    Paused,

    /// <summary>Cancelled by a user; tasks not yet started were cancelled.</summary>
    Cancelled,

    /// <summary>Derived: every task has ended and none failed.</summary>
    Succeeded,

    /// <summary>Derived: every task has ended and at least one failed.</summary>
    Failed,
}
