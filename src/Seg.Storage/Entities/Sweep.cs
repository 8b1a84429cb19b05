namespace Seg.Storage.Entities;

/// <summary>A submitted sweep: the definition as submitted plus the state the farm keeps for it.</summary>
public sealed class Sweep
{
    /// <summary>Sweep id, chosen by the submitter or the coordinator.</summary>
    public Guid Id { get; set; }

    /// <summary>Human-readable name shown in dashboards.</summary>
    public string Name { get; set; } = "";

    /// <summary>Key of the submission; a repeated submit with the same key returns the first sweep. Unique when set.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Who submitted the sweep: the name of the API key (never the key), or <c>standalone</c> for <c>seg run</c>.</summary>
    public string SubmittedBy { get; set; } = "";

    /// <summary>
    /// SHA-256 (hex) of the definition as stored, so that a repeated idempotency key with a different sweep is told from
    /// a retry of the same one.
    /// </summary>
    public string DefinitionSha256 { get; set; } = "";

    /// <summary>The submitted sweep definition as JSON (jsonb).</summary>
    public string DefinitionJson { get; set; } = "{}";

    /// <summary>User tags as a JSON object or array (jsonb).</summary>
    public string TagsJson { get; set; } = "{}";

    /// <summary>Dispatch priority: higher first, ties first-in first-out. Copied onto every task.</summary>
    public int Priority { get; set; }

    /// <summary>Current status.</summary>
    public SweepStatus Status { get; set; }

    /// <summary>Number of tasks the sweep expanded to.</summary>
    public int TaskCount { get; set; }

    /// <summary>Most attempts any task of this sweep may take, counting requeues.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>When the sweep was stored (UTC).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the sweep row last changed (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When the dispatcher first sent one of its tasks (UTC); null before.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the sweep reached a final status (UTC).</summary>
    public DateTimeOffset? FinishedAt { get; set; }
}
