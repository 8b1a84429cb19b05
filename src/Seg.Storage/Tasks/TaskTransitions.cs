using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Seg.Storage.Entities;

namespace Seg.Storage.Tasks;

/// <summary>
/// Atomic task state changes. Each is one conditional <c>UPDATE ... WHERE status IN (...)</c>, so when
/// dispatchers or workers race on the same task exactly one of them wins (PostgreSQL re-checks the
/// condition on the row it waited for) and the others learn it from the return value.
/// </summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="time">Clock for the transition times.</param>
public sealed class TaskTransitions(SegDbContext db, TimeProvider time)
{
    private static readonly RenderTaskStatus[] Active = [RenderTaskStatus.Pending, RenderTaskStatus.Queued, RenderTaskStatus.Running];

    /// <summary>Marks a published task queued if it is still pending.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call changed pending to queued.</returns>
    public async Task<bool> TryMarkQueuedAsync(Guid taskId, CancellationToken cancellationToken) =>
        await MarkQueuedAsync([taskId], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>Marks the given tasks queued, those that are still pending.</summary>
    /// <param name="taskIds">Task ids.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>How many changed from pending to queued.</returns>
    public Task<int> MarkQueuedAsync(IReadOnlyCollection<Guid> taskIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var now = time.GetUtcNow();
        return db.RenderTasks
            .Where(t => taskIds.Contains(t.Id) && t.Status == RenderTaskStatus.Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, RenderTaskStatus.Queued)
                .SetProperty(t => t.QueuedAt, now), cancellationToken);
    }

    /// <summary>
    /// Starts a task on a worker: pending or queued (or, with <paramref name="takeOverRunning"/>, running
    /// on a worker that died) becomes running, attempts + 1. A task whose attempts reached its sweep's
    /// max_attempts is marked failed instead, so a task that kills its worker cannot loop forever.
    /// </summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="workerId">Worker that starts it.</param>
    /// <param name="takeOverRunning">
    /// Also take a task marked running (use it for a redelivered message: the broker redelivers only after
    /// the previous consumer's channel closed).
    /// </param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What happened; render only on <see cref="TaskStartOutcome.Started"/>.</returns>
    public async Task<TaskStartOutcome> TryStartAsync(Guid taskId, string workerId, bool takeOverRunning, CancellationToken cancellationToken) =>
        (await StartAsync(taskId, workerId, takeOverRunning, cancellationToken).ConfigureAwait(false)).Outcome;

    /// <summary>
    /// <see cref="TryStartAsync"/>, also telling which attempt a start is: a worker can skip looking for an earlier
    /// attempt's image on the first one.
    /// </summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="workerId">Worker that starts it.</param>
    /// <param name="takeOverRunning">Also take a task marked running (see <see cref="TryStartAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What happened, and on <see cref="TaskStartOutcome.Started"/> the attempt number it counted.</returns>
    public async Task<TaskStart> StartAsync(Guid taskId, string workerId, bool takeOverRunning, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(workerId))
        {
            throw new ArgumentException("worker_id must not be empty", nameof(workerId));
        }

        var from = takeOverRunning ? Active : [RenderTaskStatus.Pending, RenderTaskStatus.Queued];
        if (await StartReturningAttemptAsync(taskId, workerId, from, cancellationToken).ConfigureAwait(false) is { } attempt)
        {
            return new TaskStart(TaskStartOutcome.Started, attempt);
        }

        var current = await db.RenderTasks.AsNoTracking()
            .Where(t => t.Id == taskId)
            .Select(t => new { t.Status, t.Attempts, MaxAttempts = db.Sweeps.Where(s => s.Id == t.SweepId).Select(s => s.MaxAttempts).First() })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return new TaskStart(TaskStartOutcome.NotFound);
        }

        if (!Active.Contains(current.Status))
        {
            return new TaskStart(TaskStartOutcome.AlreadyEnded);
        }

        if (current.Status == RenderTaskStatus.Running && !takeOverRunning)
        {
            return new TaskStart(TaskStartOutcome.RunningElsewhere);
        }

        // Active, startable by status, so the attempts condition refused it.
        var error = $"attempts exhausted ({current.Attempts} of max_attempts {current.MaxAttempts})";
        return new TaskStart(await FinishAsync(taskId, RenderTaskStatus.Failed, error, 0, cancellationToken).ConfigureAwait(false)
            ? TaskStartOutcome.AttemptsExhausted
            : TaskStartOutcome.AlreadyEnded);
    }

    /// <summary>
    /// The conditional start as one <c>UPDATE ... RETURNING attempts</c> (PostgreSQL and SQLite both have it; EF's
    /// ExecuteUpdate returns only a row count, and a second query would cost the round trip this saves). Parameters
    /// come from the model's type mappings, so status names and timestamps are stored as EF stores them.
    /// </summary>
    /// <returns>The attempt number it counted, or null when the task was not startable.</returns>
    private async Task<int?> StartReturningAttemptAsync(Guid taskId, string workerId, RenderTaskStatus[] from, CancellationToken cancellationToken)
    {
        var entity = db.Model.FindEntityType(typeof(RenderTaskRecord))!;
        // The command only makes the parameters (of the provider's type); EF runs the statement on its own.
        using var command = db.Database.GetDbConnection().CreateCommand();
        var parameters = new List<object>();
        string Parameter(string property, object? value)
        {
            var name = "start" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            parameters.Add(entity.FindProperty(property)!.GetRelationalTypeMapping().CreateParameter(command, name, value, nullable: true));
            return "@" + name;
        }

        var running = Parameter(nameof(RenderTaskRecord.Status), RenderTaskStatus.Running);
        var statuses = string.Join(", ", from.Select(status => Parameter(nameof(RenderTaskRecord.Status), status)));
        var sql = $"""
            UPDATE render_tasks
            SET status = {running}, attempts = attempts + 1, worker_id = {Parameter(nameof(RenderTaskRecord.WorkerId), workerId)},
                started_at = {Parameter(nameof(RenderTaskRecord.StartedAt), time.GetUtcNow())}, finished_at = NULL
            WHERE id = {Parameter(nameof(RenderTaskRecord.Id), taskId)} AND status IN ({statuses})
                AND attempts < (SELECT s.max_attempts FROM sweeps AS s WHERE s.id = render_tasks.sweep_id)
            RETURNING attempts AS "Value"
            """;
        // ToListAsync, not FirstOrDefaultAsync: EF would wrap the statement in a SELECT, which an UPDATE cannot be.
        var attempts = await db.Database.SqlQueryRaw<int>(sql, [.. parameters]).ToListAsync(cancellationToken).ConfigureAwait(false);
        return attempts.Count == 1 ? attempts[0] : null;
    }

    /// <summary>Marks a task succeeded if it has not ended yet; a second call returns false and changes nothing.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="gpuSeconds">GPU-seconds this attempt used, added to the task's total.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call ended the task.</returns>
    public Task<bool> TryMarkSucceededAsync(Guid taskId, double gpuSeconds, CancellationToken cancellationToken) =>
        FinishAsync(taskId, RenderTaskStatus.Succeeded, null, gpuSeconds, cancellationToken);

    /// <summary>Marks a task failed if it has not ended yet.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="error">Reason, shown to users.</param>
    /// <param name="gpuSeconds">GPU-seconds this attempt used, added to the task's total.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>True when this call ended the task.</returns>
    public Task<bool> TryMarkFailedAsync(Guid taskId, string error, double gpuSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(error);
        return FinishAsync(taskId, RenderTaskStatus.Failed, error, gpuSeconds, cancellationToken);
    }

    /// <summary>
    /// Gives a running task back (the worker drains on shutdown, or hit a transient fault): running on
    /// <paramref name="workerId"/> becomes queued again, as its message goes back to the broker.
    /// </summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="workerId">Worker that runs it; a task running elsewhere is left alone.</param>
    /// <param name="reason">Why, kept as last_error; null keeps the previous one.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <param name="refundAttempt">
    /// Give back the attempt the start counted (a worker that drains on shutdown gave up through no fault of
    /// the task, so the redelivery must not bring it closer to max_attempts).
    /// </param>
    /// <returns>True when this call released the task.</returns>
    public async Task<bool> TryReleaseAsync(Guid taskId, string workerId, string? reason, CancellationToken cancellationToken, bool refundAttempt = false)
    {
        var refund = refundAttempt ? 1 : 0;
        return await db.RenderTasks
            .Where(t => t.Id == taskId && t.Status == RenderTaskStatus.Running && t.WorkerId == workerId)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, RenderTaskStatus.Queued)
                .SetProperty(t => t.Attempts, t => t.Attempts > refund ? t.Attempts - refund : 0)
                .SetProperty(t => t.LastError, t => reason ?? t.LastError), cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Number of tasks of a sweep in each status (statuses without tasks are absent).</summary>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Status to count.</returns>
    public async Task<IReadOnlyDictionary<RenderTaskStatus, int>> CountByStatusAsync(Guid sweepId, CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking()
            .Where(t => t.SweepId == sweepId)
            .GroupBy(t => t.Status)
            .Select(g => new { Status = g.Key, Count = g.Count() })
            .ToDictionaryAsync(x => x.Status, x => x.Count, cancellationToken).ConfigureAwait(false);

    private async Task<bool> FinishAsync(Guid taskId, RenderTaskStatus status, string? error, double gpuSeconds, CancellationToken cancellationToken)
    {
        if (!(gpuSeconds >= 0) || double.IsInfinity(gpuSeconds))
        {
            throw new ArgumentOutOfRangeException(nameof(gpuSeconds), gpuSeconds, $"gpu_seconds must be finite and >= 0 (got {gpuSeconds})");
        }

        var now = time.GetUtcNow();
        return await db.RenderTasks
            .Where(t => t.Id == taskId && Active.Contains(t.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, status)
                .SetProperty(t => t.FinishedAt, now)
                .SetProperty(t => t.LastError, t => error ?? t.LastError)
                .SetProperty(t => t.GpuSeconds, t => t.GpuSeconds + gpuSeconds), cancellationToken).ConfigureAwait(false) == 1;
    }
}
