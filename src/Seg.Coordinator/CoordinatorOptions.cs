using System.ComponentModel.DataAnnotations;
using Seg.Contracts.Sweeps;
using Seg.ServiceDefaults;

namespace Seg.Coordinator;

/// <summary>
/// The coordinator's settings, bound from the <c>Coordinator</c> configuration section (environment variables
/// <c>Coordinator__MaxInFlight</c> and so on) and checked at start: init properties, DataAnnotations checked at start
/// (<c>ValidateOnStart</c>), durations in seconds as <c>double</c> (docs/architecture.md, Conventions).
/// </summary>
public sealed record CoordinatorOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Coordinator";

    /// <summary>
    /// Most tasks queued or running at once, over all sweeps. Small enough that cancel, pause and a new
    /// high-priority sweep act within about one round of renders; large enough to keep every GPU busy: two to four
    /// times the render slots of all workers, so each slot has its next task prefetched while a result travels back
    /// (docs/performance.md: the benchmark runs 16 slots at 64). Default 32.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxInFlight { get; init; } = 32;

    /// <summary>
    /// How often the dispatcher looks for work when nothing wakes it (a submit, a finished task, a resume do),
    /// in seconds. Default 0.5.
    /// </summary>
    [Range(0.01, 3600.0)]
    public double DispatchIntervalSeconds { get; init; } = 0.5;

    /// <summary>
    /// After a wake-up, how long the dispatcher lets further completions gather before its round, in seconds,
    /// so that a busy farm sends tasks in batches instead of one round per finished task. Default 0.02; 0 = none.
    /// </summary>
    [Range(0.0, 1.0)]
    public double DispatchCoalesceSeconds { get; init; } = 0.02;

    /// <summary>The queue the workers consume render tasks from (their endpoint <c>render-tasks</c>).</summary>
    [Required, RegularExpression("^[A-Za-z0-9._:-]+$")]
    public string RenderTaskQueue { get; init; } = Contracts.Messages.RenderTaskQueue.DefaultName;

    /// <summary>Most attempts a task of a new sweep may take, requeues included. Default 3.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; init; } = 3;

    /// <summary>A running task is stuck when it runs longer than this many times the median render of its sweep. Default 5.</summary>
    [Range(1.0, 1000.0)]
    public double StuckTaskFactor { get; init; } = 5.0;

    /// <summary>A running task is never called stuck before this many seconds (first renders load the model). Default 600.</summary>
    [Range(1, 86_400)]
    public int StuckTaskFloorSeconds { get; init; } = 600;

    /// <summary>How often the stuck-task check runs, in seconds. Default 60.</summary>
    [Range(1, 86_400)]
    public int StuckTaskCheckIntervalSeconds { get; init; } = 60;

    /// <summary>
    /// A queued task whose message no worker started within this many seconds is sent again (the message may have been
    /// lost: a broker restarted without its data, a purged queue). Keep it above the longest a message waits behind
    /// others, about MaxInFlight / render slots x the longest render; a message that was only slow is harmless, the
    /// worker acknowledges the second copy without rendering. Default 300.
    /// </summary>
    [Range(1, 86_400)]
    public double ResendQueuedAfterSeconds { get; init; } = 300;

    /// <summary>
    /// How often the coordinator audits the blob store against the provenance rows, in seconds, and renders again the
    /// images whose blob is gone (<see cref="Storage.Audit.BlobAudit"/>). 0 (the default) = only when a worker reports that
    /// it created the container again and at start when the container is missing; set it (e.g. 86400) to also heal a store
    /// emptied while no worker wrote to it, or blobs deleted one by one. An audit lists the whole container and reads every
    /// provenance row once, in pages.
    /// </summary>
    [Range(0, 30 * 86_400)]
    public double BlobAuditIntervalSeconds { get; init; }

    /// <summary>A worker whose last this-many ended tasks of one sweep all failed is reported as failing that sweep. Default 3.</summary>
    [Range(1, 1000)]
    public int WorkerFailureStreak { get; init; } = 3;

    /// <summary>
    /// Whether tasks an earlier run left queued or running are put back to pending at start (see
    /// <see cref="Dispatch.InFlightRecovery"/>). Only for a transport that loses its messages when the process ends,
    /// the in-memory bus of the standalone mode; never with RabbitMQ. Default false.
    /// </summary>
    public bool RecoverInFlightAtStart { get; init; }

    /// <summary>
    /// How long the coordinator waits at start for the database, in seconds (default 120). Past it the start fails and
    /// the process exits non-zero, so that compose or Kubernetes restarts it.
    /// </summary>
    public double DatabaseStartTimeoutSeconds { get; init; } = 120;

    /// <summary>
    /// The coordinator's address as users reach it (e.g. <c>https://seg.example.org/</c>), for the absolute links in API
    /// answers (image URLs). Unset: links are paths (<c>/api/images/ID</c>). Never taken from a request's Host header.
    /// </summary>
    [PublicBaseUrl]
    public Uri? PublicBaseUrl { get; init; }

    /// <summary>
    /// Largest sweep a submit may send, in bytes; a larger body gets 413 before it is read. Default 32 MiB (10,000 prompts
    /// of 2,000 characters fit; a million seeds fit as a range).
    /// </summary>
    [Range(1024, 1L << 30)]
    public long MaxSweepBytes { get; init; } = 32L << 20;

    /// <summary>
    /// Retries of the coordinator consumers' faults (the database restarting or busy), section <c>Coordinator:Retry</c>:
    /// 10 with exponential back-off from 200 ms in steps of 500 ms up to 30 s, about two and a half minutes in all, so an
    /// outage of two minutes is waited out before the message goes to the error queue.
    /// </summary>
    [ValidateSection(Section + ":" + RetryOptions.Subsection)]
    public RetryOptions Retry { get; init; } = new() { Limit = 10, MinIntervalSeconds = 0.2, MaxIntervalSeconds = 30, IntervalDeltaSeconds = 0.5 };

    /// <summary>The limits submitted sweeps are validated against (section <c>Coordinator:SweepLimits</c>).</summary>
    public SweepLimits SweepLimits { get; init; } = new();
}

/// <summary>An absolute http or https URL ending in <c>/</c> (relative links resolve under it), or null.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class PublicBaseUrlAttribute : ValidationAttribute
{
    /// <inheritdoc />
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is null || (value is Uri { IsAbsoluteUri: true } uri && uri.Scheme is "http" or "https" && uri.AbsolutePath.EndsWith('/'))
            ? ValidationResult.Success
            : new ValidationResult($"Coordinator:PublicBaseUrl must be an absolute http(s) URL ending in '/' (got '{value}')");
}
