using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Coordinator.Monitoring;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Sweeps;

/// <summary>How many tasks of a sweep are in each status.</summary>
/// <param name="Pending">Stored, waiting for the dispatcher.</param>
/// <param name="Queued">Sent to the workers, not started.</param>
/// <param name="Running">Being rendered.</param>
/// <param name="Succeeded">Rendered and stored.</param>
/// <param name="Failed">Failed (may be requeued while attempts are left).</param>
/// <param name="Cancelled">Cancelled before they ran.</param>
public sealed record TaskCounts(int Pending, int Queued, int Running, int Succeeded, int Failed, int Cancelled);

/// <summary>A sweep's state and progress, as the API shows it.</summary>
/// <param name="Id">Sweep id.</param>
/// <param name="Name">Name given in the sweep (or the id).</param>
/// <param name="Status">Sweep status.</param>
/// <param name="Priority">Dispatch priority, higher first.</param>
/// <param name="TaskCount">Tasks (images) the sweep expanded to.</param>
/// <param name="Tasks">Tasks per status.</param>
/// <param name="Progress">Fraction of the tasks that have ended (succeeded, failed or cancelled), 0 .. 1.</param>
/// <param name="EtaSeconds">Seconds until the remaining tasks end at the recent completion rate; null when unknown or not running.</param>
/// <param name="GpuSeconds">GPU-seconds spent so far (accounting).</param>
/// <param name="Resends">
/// Task messages the coordinator sent again (no worker started them in time, the broker connection came back, or their
/// worker stopped sending heartbeats), summed over the sweep's tasks.
/// </param>
/// <param name="MaxAttempts">Most attempts a task may take.</param>
/// <param name="Tags">The sweep's tags.</param>
/// <param name="SubmittedBy">The name of the API key that submitted it (<c>standalone</c> for <c>seg run</c>).</param>
/// <param name="CreatedAt">When the sweep was stored.</param>
/// <param name="StartedAt">When its first task was dispatched or started; null before.</param>
/// <param name="FinishedAt">When it reached a final status.</param>
public sealed record SweepSummary(
    Guid Id,
    string Name,
    SweepStatus Status,
    int Priority,
    int TaskCount,
    TaskCounts Tasks,
    double Progress,
    double? EtaSeconds,
    double GpuSeconds,
    int Resends,
    int MaxAttempts,
    IReadOnlyDictionary<string, string> Tags,
    string SubmittedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt)
{
    /// <summary>The sweep definition as stored; only in the response for one sweep.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Definition { get; init; }

    /// <summary>Running tasks that take far longer than the sweep's median; only in the response for one sweep.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<StuckTask>? StuckTasks { get; init; }
}

/// <summary>One page of sweeps, newest first.</summary>
/// <param name="Items">The sweeps on this page.</param>
/// <param name="Page">Page number, from 1.</param>
/// <param name="PageSize">Sweeps per page.</param>
/// <param name="Total">Sweeps matching the filter.</param>
public sealed record SweepPage(IReadOnlyList<SweepSummary> Items, int Page, int PageSize, int Total);

/// <summary>What a cancel, pause, resume or requeue did.</summary>
/// <param name="Action">The action (<c>cancel</c>, <c>pause</c>, <c>resume</c>, <c>requeue-failed</c>).</param>
/// <param name="TasksAffected">Tasks cancelled or requeued (0 for pause and resume).</param>
/// <param name="Sweep">The sweep after the action.</param>
public sealed record SweepActionResponse(string Action, int TasksAffected, SweepSummary Sweep);
