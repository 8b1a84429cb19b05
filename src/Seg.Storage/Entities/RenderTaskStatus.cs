namespace Seg.Storage.Entities;

/// <summary>Life cycle of one render task (one image). Stored as lower-case text (e.g. <c>queued</c>).</summary>
public enum RenderTaskStatus
{
    /// <summary>Stored, waiting for the dispatcher.</summary>
    Pending,

    /// <summary>Published to the broker, not yet picked up by a worker.</summary>
    Queued,

    /// <summary>A worker is rendering it.</summary>
    Running,

    /// <summary>Rendered, uploaded and its provenance stored. Final.</summary>
    Succeeded,

    /// <summary>Failed permanently or ran out of attempts. Final unless requeued.</summary>
    Failed,

    /// <summary>Cancelled before it ran. Final.</summary>
    Cancelled,
}
