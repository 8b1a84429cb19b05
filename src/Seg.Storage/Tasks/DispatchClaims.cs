using Microsoft.EntityFrameworkCore;
using Seg.Storage.Configurations;
using Seg.Storage.Entities;

namespace Seg.Storage.Tasks;

/// <summary>
/// The dispatcher's reads and writes on the outbox (the task table): the round lock, the room in flight, the sweeps
/// that may be dispatched, and the atomic claim of pending tasks. Safe with several coordinator replicas on one
/// database: rounds are serialized by an advisory lock, and a task is claimed (pending to queued) by exactly one
/// round before its message is sent.
/// </summary>
/// <param name="db">Database context (scoped); the methods that say so run in the caller's transaction.</param>
/// <param name="time">Clock for the queue times.</param>
public sealed class DispatchClaims(SegDbContext db, TimeProvider time)
{
    /// <summary>
    /// Key of the transaction-scoped advisory lock every dispatch round takes on PostgreSQL (an arbitrary constant,
    /// "SEGDISP" in ASCII), so that the rounds of two coordinator replicas never overlap: each one counts the room in
    /// flight with the other's claims committed, so MaxInFlight holds over all replicas.
    /// </summary>
    public const long RoundLockKey = 0x5345_4744_4953_50;

    private static readonly SweepStatus[] Open = [SweepStatus.Pending, SweepStatus.Running, SweepStatus.Paused, SweepStatus.Cancelled];

    /// <summary>
    /// Takes the round lock in the caller's transaction, waiting for another replica's round to commit. On SQLite the
    /// transaction already holds the database's one write lock (it began <c>IMMEDIATE</c>), so there is nothing to take.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task LockRoundAsync(CancellationToken cancellationToken)
    {
        if (db.Provider == SegDatabaseProvider.PostgreSql)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({RoundLockKey})", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Tasks queued or running over the sweeps that can still have such tasks, from their counters.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Tasks in flight over all sweeps.</returns>
    public async Task<int> CountInFlightAsync(CancellationToken cancellationToken) =>
        await db.SweepCounters.AsNoTracking()
            .Where(c => db.Sweeps.Any(s => s.Id == c.SweepId && Open.Contains(s.Status)))
            .SumAsync(c => c.Queued + c.Running, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The sweeps of the next <paramref name="limit"/> pending tasks in dispatch order (priority high first, then
    /// oldest, then task index), of sweeps that are pending or running. Not locked: a hint of where to claim.
    /// </summary>
    /// <param name="limit">Most tasks to look at (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>Distinct sweep ids.</returns>
    public async Task<IReadOnlyList<Guid>> CandidateSweepsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var sweepIds = await db.RenderTasks.AsNoTracking()
            .Where(t => t.Status == RenderTaskStatus.Pending
                && db.Sweeps.Any(s => s.Id == t.SweepId && (s.Status == SweepStatus.Pending || s.Status == SweepStatus.Running)))
            .OrderByDescending(t => t.Priority).ThenBy(t => t.CreatedAt).ThenBy(t => t.TaskIndex)
            .Take(limit)
            .Select(t => t.SweepId)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. sweepIds.Distinct()];
    }

    /// <summary>
    /// Locks, in the caller's transaction, those of <paramref name="sweepIds"/> that may still be dispatched (pending or
    /// running) and returns their ids. Cancel and pause update these rows, so they wait for the round and the next round
    /// sees them: once cancel or pause has returned, no message of that sweep is sent.
    /// </summary>
    /// <param name="sweepIds">Candidate sweeps.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The locked, dispatchable sweeps.</returns>
    public async Task<IReadOnlyList<Guid>> LockDispatchableSweepsAsync(IReadOnlyCollection<Guid> sweepIds, CancellationToken cancellationToken)
    {
        var ids = sweepIds.ToArray();
        if (db.Provider == SegDatabaseProvider.Sqlite)
        {
            // SQLite has no row locks and needs none: the transaction holds the database's one write lock.
            return await db.Sweeps.AsNoTracking()
                .Where(s => ids.Contains(s.Id) && (s.Status == SweepStatus.Pending || s.Status == SweepStatus.Running))
                .Select(s => s.Id)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        // Sorted, so that two transactions lock rows in the same order.
        return await db.Database.SqlQuery<Guid>($"""
            SELECT id AS "Value" FROM sweeps
            WHERE id = ANY({ids}) AND status IN ('pending', 'running')
            ORDER BY id FOR UPDATE
            """).ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Claims, in the caller's transaction, up to <paramref name="limit"/> pending tasks of <paramref name="sweepIds"/>
    /// in dispatch order: they become queued in one statement, so no other round can claim (and send) them again. Roll
    /// the transaction back when their messages cannot be sent, and they are pending again.
    /// </summary>
    /// <param name="sweepIds">Locked, dispatchable sweeps.</param>
    /// <param name="limit">Most tasks to claim (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The claimed tasks, now queued, in dispatch order.</returns>
    public async Task<IReadOnlyList<RenderTaskRecord>> ClaimAsync(IReadOnlyCollection<Guid> sweepIds, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var ids = sweepIds.ToArray();
        if (ids.Length == 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        List<RenderTaskRecord> claimed;
        if (db.Provider == SegDatabaseProvider.Sqlite)
        {
            // One writer at a time (the transaction holds the write lock): reading then updating is atomic here.
            claimed = await db.RenderTasks.AsNoTracking()
                .Where(t => t.Status == RenderTaskStatus.Pending && ids.Contains(t.SweepId))
                .OrderByDescending(t => t.Priority).ThenBy(t => t.CreatedAt).ThenBy(t => t.TaskIndex)
                .Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var claimedIds = claimed.Select(t => t.Id).ToArray();
            await db.RenderTasks.Where(t => claimedIds.Contains(t.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Queued).SetProperty(t => t.QueuedAt, now), cancellationToken)
                .ConfigureAwait(false);
        }
        else
        {
            // UPDATE ... RETURNING over a SKIP LOCKED subquery: the claim is one statement, and a row some other
            // transaction holds (a worker's start of a task of the same sweep cannot be pending, but a requeue can) is
            // left for the next round instead of waited for. Status literals as the model stores them.
            var pending = LowerCaseEnumConverter<RenderTaskStatus>.ToText(RenderTaskStatus.Pending);
            var queued = LowerCaseEnumConverter<RenderTaskStatus>.ToText(RenderTaskStatus.Queued);
            claimed = await db.RenderTasks.FromSql($"""
                UPDATE render_tasks SET status = {queued}, queued_at = {now}
                WHERE id IN (
                    SELECT id FROM render_tasks
                    WHERE status = {pending} AND sweep_id = ANY({ids})
                    ORDER BY priority DESC, created_at, task_index
                    LIMIT {limit}
                    FOR UPDATE SKIP LOCKED)
                RETURNING *
                """).AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var task in claimed)
        {
            task.Status = RenderTaskStatus.Queued;
            task.QueuedAt = now;
        }

        return [.. claimed.OrderByDescending(t => t.Priority).ThenBy(t => t.CreatedAt).ThenBy(t => t.TaskIndex)];
    }

    /// <summary>
    /// Whether any task's message may be lost: queued with its message sent before <paramref name="queuedBefore"/>, or
    /// (with <paramref name="heartbeatBefore"/>) running on a worker silent since then. A cheap look before the lock.
    /// </summary>
    /// <param name="queuedBefore">Messages sent before this are overdue.</param>
    /// <param name="heartbeatBefore">Workers without a heartbeat since this are gone; null: do not look at running tasks.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>True when <see cref="ClaimUnstartedAsync"/> or <see cref="ClaimOrphanedAsync"/> may find tasks.</returns>
    public async Task<bool> AnyLostAsync(DateTimeOffset queuedBefore, DateTimeOffset? heartbeatBefore, CancellationToken cancellationToken) =>
        await Unstarted(queuedBefore).AnyAsync(cancellationToken).ConfigureAwait(false)
        || (heartbeatBefore is { } before && await Orphaned(before).AnyAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Claims, in the caller's transaction (after <see cref="LockRoundAsync"/>), up to <paramref name="limit"/> queued
    /// tasks whose message was sent before <paramref name="queuedBefore"/> and that no worker has started, oldest first,
    /// to send them again: their send time becomes now and their resend count grows by one.
    /// </summary>
    /// <param name="queuedBefore">Messages sent before this are overdue.</param>
    /// <param name="limit">Most tasks to claim (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The claimed tasks, still queued.</returns>
    public async Task<IReadOnlyList<RenderTaskRecord>> ClaimUnstartedAsync(DateTimeOffset queuedBefore, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var ids = await Unstarted(queuedBefore).OrderBy(t => t.QueuedAt).Take(limit).Select(t => t.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
        {
            return [];
        }

        var now = Now();
        // The same condition again: a worker may have started one meanwhile (then it is not sent again).
        await Unstarted(queuedBefore).Where(t => ids.Contains(t.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.QueuedAt, now).SetProperty(t => t.Resends, t => t.Resends + 1), cancellationToken)
            .ConfigureAwait(false);
        return await ResentAsync(ids, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Claims, in the caller's transaction (after <see cref="LockRoundAsync"/>), up to <paramref name="limit"/> running
    /// tasks whose worker has sent no heartbeat since <paramref name="heartbeatBefore"/> (and that started before it; a
    /// worker never heard of is left alone, as is its task: a worker that dies closes its broker channel, and the broker
    /// delivers the message again by itself):
    /// they become queued again, to be sent again, their resend count grows by one and their attempts stay counted
    /// (a task that kills its worker must not loop forever). Such tasks of cancelled sweeps are cancelled instead.
    /// </summary>
    /// <param name="heartbeatBefore">Workers without a heartbeat since this are gone.</param>
    /// <param name="limit">Most tasks to claim (&gt; 0).</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The claimed tasks, now queued.</returns>
    public async Task<IReadOnlyList<RenderTaskRecord>> ClaimOrphanedAsync(DateTimeOffset heartbeatBefore, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var now = Now();
        await Orphaned(heartbeatBefore).Where(t => db.Sweeps.Any(s => s.Id == t.SweepId && s.Status == SweepStatus.Cancelled))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, RenderTaskStatus.Cancelled).SetProperty(t => t.FinishedAt, now), cancellationToken)
            .ConfigureAwait(false);
        var ids = await Orphaned(heartbeatBefore).OrderBy(t => t.StartedAt).Take(limit).Select(t => t.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Count == 0)
        {
            return [];
        }

        await Orphaned(heartbeatBefore).Where(t => ids.Contains(t.Id))
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, RenderTaskStatus.Queued)
                .SetProperty(t => t.QueuedAt, now)
                .SetProperty(t => t.Resends, t => t.Resends + 1), cancellationToken)
            .ConfigureAwait(false);
        return await ResentAsync(ids, now, cancellationToken).ConfigureAwait(false);
    }

    private IQueryable<RenderTaskRecord> Unstarted(DateTimeOffset queuedBefore) =>
        db.RenderTasks.Where(t => t.Status == RenderTaskStatus.Queued && t.QueuedAt < queuedBefore);

    private IQueryable<RenderTaskRecord> Orphaned(DateTimeOffset heartbeatBefore) =>
        db.RenderTasks.Where(t => t.Status == RenderTaskStatus.Running && t.StartedAt < heartbeatBefore
            && db.Workers.Any(w => w.WorkerId == t.WorkerId && w.LastHeartbeatAt < heartbeatBefore));

    /// <summary>The tasks of <paramref name="ids"/> that this claim marked (their send time is its <paramref name="now"/>).</summary>
    private async Task<IReadOnlyList<RenderTaskRecord>> ResentAsync(List<Guid> ids, DateTimeOffset now, CancellationToken cancellationToken) =>
        await db.RenderTasks.AsNoTracking().Where(t => ids.Contains(t.Id) && t.QueuedAt == now)
            .ToListAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Now, to the microsecond: PostgreSQL keeps timestamps to the microsecond, so the claim can find its own mark.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.Ticks - (now.Ticks % 10), TimeSpan.Zero);
    }
}
