using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.Coordinator.IntegrationEvents;
using Seg.Parameters;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// One round of the outbox: fills the room under <see cref="CoordinatorOptions.MaxInFlight"/> with pending tasks in
/// dispatch order, claims them (pending to queued), sends one <see cref="RenderTask"/> each, and marks their sweeps
/// running, all in one transaction (<see cref="DispatchClaims"/> holds the SQL).
/// </summary>
/// <remarks>
/// Safe with several coordinator replicas on one database and broker: the transaction takes the round lock first (an
/// advisory lock on PostgreSQL, the write lock on SQLite), so rounds of different replicas never overlap and the room
/// is counted with the other's claims committed; and a task is claimed by one statement before it is sent, so no two
/// rounds send it. The candidate sweeps' rows stay locked from the claim until the commit, so cancel and pause wait
/// for a round in progress: once they have returned, no message of that sweep is sent. A crash or failed commit after
/// a send leaves the task pending and sends it again later, which the worker tolerates (stable ids, conditional start).
/// <para>
/// Each round first sends again the messages that may be lost (<see cref="ResendLostAsync"/>), so that tasks whose
/// message is gone hold their room in flight for at most <see cref="CoordinatorOptions.ResendQueuedAfterSeconds"/>
/// (at once after the broker connection came back) and never stop dispatch.
/// </para>
/// </remarks>
/// <param name="db">Database context (scoped).</param>
/// <param name="claims">The dispatcher's queries and claims on the same context.</param>
/// <param name="tasks">Task transitions on the same context.</param>
/// <param name="sweeps">Sweep transitions on the same context.</param>
/// <param name="expansions">The tasks' render parameters, from their sweeps' stored definitions.</param>
/// <param name="progress">Completes a sweep whose last tasks the round failed.</param>
/// <param name="sendEndpoints">MassTransit's send endpoints.</param>
/// <param name="broker">Tells when the broker connection came back, and since when it has been up.</param>
/// <param name="options">Coordinator options.</param>
/// <param name="heartbeats">Heartbeat settings: when a worker is stale.</param>
/// <param name="metrics">Counters.</param>
/// <param name="time">Clock.</param>
/// <param name="logger">Logger.</param>
public sealed partial class DispatchRound(
    SegDbContext db,
    DispatchClaims claims,
    TaskTransitions tasks,
    SweepTransitions sweeps,
    SweepExpansions expansions,
    SweepProgress progress,
    ISendEndpointProvider sendEndpoints,
    BrokerConnection broker,
    IOptions<CoordinatorOptions> options,
    IOptions<HeartbeatOptions> heartbeats,
    CoordinatorMetrics metrics,
    TimeProvider time,
    ILogger<DispatchRound> logger)
{
    /// <summary>
    /// Longest a round may spend sending. The round holds its sweeps' rows locked while it sends, so a broker that
    /// stopped answering must not keep a user's cancel or pause waiting: the round gives up and rolls back instead.
    /// </summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs one round.</summary>
    /// <param name="cancellationToken">Cancels the round (nothing is marked; sent messages are sent again later).</param>
    /// <returns>How many tasks the round took: sent again, sent, or failed because their parameters could not be read.</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var taken = await ResendLostAsync(cancellationToken).ConfigureAwait(false)
            + await DispatchPendingAsync(cancellationToken).ConfigureAwait(false)
            + await sweeps.CancelPendingOfCancelledAsync(CancelBatch, cancellationToken).ConfigureAwait(false);
        // No worker event will end a task failed here: its sweep is completed now if that was its last task.
        foreach (var sweepId in _failedSweeps)
        {
            await progress.TryCompleteAsync(sweepId, cancellationToken).ConfigureAwait(false);
        }

        return taken;
    }

    /// <summary>Sweeps of the tasks this round failed because their parameters could not be had.</summary>
    private readonly HashSet<Guid> _failedSweeps = [];

    /// <summary>Pending tasks of a cancelled large sweep marked per round: about a second of work, so rounds go on between.</summary>
    private const int CancelBatch = 20_000;

    /// <summary>
    /// Sends again the messages that may be lost: of queued tasks that no worker started within
    /// <see cref="CoordinatorOptions.ResendQueuedAfterSeconds"/> (or before the broker connection last came back), and
    /// of running tasks whose worker has been silent for <see cref="HeartbeatOptions.StaleAfter"/> (judged only
    /// once the connection that carries the heartbeats has been up that long). Safe because the worker is idempotent:
    /// a second message of a task that runs or has ended is acknowledged without a render.
    /// </summary>
    private async Task<int> ResendLostAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var queuedBefore = now - TimeSpan.FromSeconds(settings.ResendQueuedAfterSeconds);
        var reconnectedAt = broker.TakeReconnection();
        if (reconnectedAt > queuedBefore)
        {
            queuedBefore = reconnectedAt.Value;
        }

        var staleAfter = heartbeats.Value.StaleAfter;
        DateTimeOffset? heartbeatBefore = broker.ConnectedSince is { } since && now - since > staleAfter
            ? now - staleAfter
            : null;
        if (!await claims.AnyLostAsync(queuedBefore, heartbeatBefore, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await claims.LockRoundAsync(cancellationToken).ConfigureAwait(false);
        var unstarted = await claims.ClaimUnstartedAsync(queuedBefore, settings.MaxInFlight, cancellationToken).ConfigureAwait(false);
        var orphaned = heartbeatBefore is { } before
            ? await claims.ClaimOrphanedAsync(before, settings.MaxInFlight, cancellationToken).ConfigureAwait(false)
            : [];
        await SendAsync([.. unstarted, .. orphaned], cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var unstartedReason = reconnectedAt is null ? "not_started" : "broker_reconnected";
        if (unstarted.Count > 0)
        {
            metrics.TasksResent(unstarted.Count, unstartedReason);
            LogResentUnstarted(unstarted.Count, unstartedReason, queuedBefore, string.Join(", ", unstarted.Take(10).Select(t => t.Id)));
        }

        foreach (var task in orphaned)
        {
            metrics.TasksResent(1, "worker_stale");
            LogResentOrphaned(task.Id, task.SweepId, task.WorkerId, before: heartbeatBefore!.Value);
        }

        return unstarted.Count + orphaned.Count;
    }

    /// <summary>Claims pending tasks into the room under MaxInFlight and sends them.</summary>
    private async Task<int> DispatchPendingAsync(CancellationToken cancellationToken)
    {
        // A look without locks first, so that an idle farm's polls take no lock (on SQLite, the write lock).
        var room = options.Value.MaxInFlight - await claims.CountInFlightAsync(cancellationToken).ConfigureAwait(false);
        if (room <= 0 || (await claims.CandidateSweepsAsync(room, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            return 0;
        }

        using var activity = SegTelemetry.ActivitySource.StartActivity("seg.dispatch");
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await claims.LockRoundAsync(cancellationToken).ConfigureAwait(false);
        // Again under the lock: another replica's round may have filled the room meanwhile.
        room = options.Value.MaxInFlight - await claims.CountInFlightAsync(cancellationToken).ConfigureAwait(false);
        if (room <= 0)
        {
            return 0;
        }

        var candidates = await claims.CandidateSweepsAsync(room, cancellationToken).ConfigureAwait(false);
        var dispatchable = await claims.LockDispatchableSweepsAsync(candidates, cancellationToken).ConfigureAwait(false);
        var batch = await claims.ClaimAsync(dispatchable, room, cancellationToken).ConfigureAwait(false);
        if (batch.Count == 0)
        {
            return 0;
        }

        var sent = await SendAsync(batch, cancellationToken).ConfigureAwait(false);
        foreach (var sweepId in sent.Select(t => t.SweepId).Distinct())
        {
            await sweeps.TryMarkRunningAsync(sweepId, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        metrics.TasksDispatched(sent.Count);
        activity?.SetTag("seg.tasks.sent", sent.Count);
        activity?.SetTag("seg.sweeps", string.Join(",", sent.Select(t => t.SweepId).Distinct()));
        return batch.Count;
    }

    /// <summary>Sends one message per task, failing those whose parameters cannot be had; returns the tasks sent.</summary>
    private async Task<List<RenderTaskRecord>> SendAsync(IReadOnlyList<RenderTaskRecord> batch, CancellationToken cancellationToken)
    {
        var sent = new List<RenderTaskRecord>(batch.Count);
        if (batch.Count == 0)
        {
            return sent;
        }

        var sweepsOfBatch = await expansions.GetAsync(db, batch.Select(t => t.SweepId), cancellationToken).ConfigureAwait(false);
        using var sendTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        sendTimeout.CancelAfter(SendTimeout);
        var endpoint = await sendEndpoints.GetSendEndpoint(new Uri($"queue:{options.Value.RenderTaskQueue}")).ConfigureAwait(false);
        foreach (var task in batch)
        {
            // A task that cannot be rendered by this version is failed with the reason rather than left to stop every round.
            if (ParametersOf(task, sweepsOfBatch, out var error) is not { } parameters)
            {
                await tasks.TryMarkFailedAsync(task.Id, error, 0, cancellationToken).ConfigureAwait(false);
                _failedSweeps.Add(task.SweepId);
                continue;
            }

            var message = new RenderTask(task.Id, task.SweepId, task.TaskIndex, task.Attempts + 1, parameters);
            // The task's trace (begun at submit) continues here; MassTransit's send span and everything after are its children.
            using (var span = SegTelemetry.StartTaskActivity($"send {options.Value.RenderTaskQueue}", ActivityKind.Producer, task.TraceParent))
            {
                SegTelemetry.SetTaskTags(span, task.Id, task.SweepId, message.Parameters);
                span?.SetTag("messaging.system", "rabbitmq");
                span?.SetTag("messaging.operation.type", "send");
                span?.SetTag("messaging.destination.name", options.Value.RenderTaskQueue);
                span?.SetTag("seg.attempt", message.Attempt);
                await endpoint.Send(message, context => context.CorrelationId = task.Id, sendTimeout.Token).ConfigureAwait(false);
            }

            sent.Add(task);
        }

        return sent;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Sent again {Count} queued tasks ({Reason}) whose message no worker started (sent before {QueuedBefore:O}); first: {TaskIds}")]
    private partial void LogResentUnstarted(int count, string reason, DateTimeOffset queuedBefore, string taskIds);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Sent again task {TaskId} of sweep {SweepId}: it was running on worker {WorkerId}, which has sent no heartbeat since {Before:O}")]
    private partial void LogResentOrphaned(Guid taskId, Guid sweepId, string? workerId, DateTimeOffset before);

    private static RenderParameters? ParametersOf(RenderTaskRecord task, IReadOnlyDictionary<Guid, SweepExpansion> expansionsOfBatch, out string error)
    {
        if (!expansionsOfBatch.TryGetValue(task.SweepId, out var expansion))
        {
            error = $"sweep {task.SweepId} of the task does not exist";
            return null;
        }

        return expansion.TryGet(task, out var parameters, out error) ? parameters : null;
    }
}
