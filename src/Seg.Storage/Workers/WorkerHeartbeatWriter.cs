using Seg.Storage.Entities;
using Seg.Storage.Sql;

namespace Seg.Storage.Workers;

/// <summary>Records worker heartbeats: one row per worker, refreshed in place.</summary>
/// <param name="db">Database context (scoped).</param>
/// <param name="time">Clock for the heartbeat time when the caller left it unset.</param>
public sealed class WorkerHeartbeatWriter(SegDbContext db, TimeProvider time)
{
    /// <summary>
    /// Inserts the worker or updates every field but <see cref="WorkerRecord.FirstSeenAt"/>
    /// (<c>INSERT ... ON CONFLICT (worker_id) DO UPDATE</c>).
    /// </summary>
    /// <param name="heartbeat">Current state of the worker.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <exception cref="ArgumentException">worker_id is empty or a count is negative.</exception>
    public async Task UpsertAsync(WorkerRecord heartbeat, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        if (string.IsNullOrWhiteSpace(heartbeat.WorkerId))
        {
            throw new ArgumentException("worker_id must not be empty", nameof(heartbeat));
        }

        if (heartbeat.Slots < 0 || heartbeat.Busy < 0)
        {
            throw new ArgumentException($"slots and busy must be >= 0 (got {heartbeat.Slots}, {heartbeat.Busy})", nameof(heartbeat));
        }

        var now = time.GetUtcNow();
        heartbeat.LastHeartbeatAt = heartbeat.LastHeartbeatAt == default ? now : heartbeat.LastHeartbeatAt.ToUniversalTime();
        heartbeat.FirstSeenAt = heartbeat.FirstSeenAt == default ? heartbeat.LastHeartbeatAt : heartbeat.FirstSeenAt.ToUniversalTime();
        var update = EntityInsertSql.ColumnsExcept<WorkerRecord>(db, nameof(WorkerRecord.WorkerId), nameof(WorkerRecord.FirstSeenAt));
        await EntityInsertSql.ExecuteAsync(db, heartbeat, update, cancellationToken).ConfigureAwait(false);
    }
}
