using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
using Seg.Storage.Entities;
using Seg.Storage.Sql;

namespace Seg.Storage.Tasks;

/// <summary>
/// Stores a sweep and all its tasks in one transaction, the tasks streamed with PostgreSQL binary COPY
/// (about 100,000 tasks in a few seconds, where row-by-row inserts would take minutes). On SQLite, which
/// has no COPY, the tasks go through one prepared INSERT reused for every row, in the same transaction.
/// </summary>
/// <param name="db">Database context (scoped); its connection and transaction are used.</param>
/// <param name="time">Clock for the creation time when the caller left it unset.</param>
public sealed class TaskBulkWriter(SegDbContext db, TimeProvider time)
{
    /// <summary>
    /// Inserts <paramref name="sweep"/> (status pending) and every task of <paramref name="tasks"/>
    /// (status pending, the sweep's priority and creation time), then sets the sweep's task count, all in
    /// one transaction: if anything fails (a bad or duplicate task, the enumeration throwing,
    /// cancellation) nothing is written. A sweep whose idempotency key is already stored is not written
    /// again; the earlier sweep is returned, also when two submits race.
    /// </summary>
    /// <param name="sweep">Sweep row; its id, name and max attempts must be set.</param>
    /// <param name="tasks">Tasks, enumerated once while they are written.</param>
    /// <param name="cancellationToken">Cancels the insert (nothing is written).</param>
    /// <returns>The stored (or earlier) sweep's id, whether it was created, and its task count.</returns>
    /// <exception cref="ArgumentException">A sweep or task field breaks a rule; the message names it.</exception>
    /// <exception cref="DbException">
    /// The database refused a row, e.g. a duplicate task id
    /// (<see cref="PostgresException"/> on PostgreSQL, <see cref="SqliteException"/> on SQLite).
    /// </exception>
    /// <remarks>
    /// Not wrapped in an execution strategy: the task stream can be enumerated only once. Callers retry
    /// the whole submit; the idempotency key makes that safe.
    /// </remarks>
    public async Task<SweepInsertResult> InsertSweepAsync(Sweep sweep, IEnumerable<NewRenderTask> tasks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(tasks);
        ValidateSweep(sweep);

        if (sweep.IdempotencyKey is not null)
        {
            var existing = await FindByIdempotencyKeyAsync(sweep.IdempotencyKey, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                return existing;
            }
        }

        var now = time.GetUtcNow();
        sweep.CreatedAt = sweep.CreatedAt == default ? now : sweep.CreatedAt.ToUniversalTime();
        sweep.UpdatedAt = sweep.CreatedAt;
        sweep.StartedAt = null;
        sweep.FinishedAt = null;
        sweep.Status = SweepStatus.Pending;
        sweep.TaskCount = 0;

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                db.Sweeps.Add(sweep);
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbUpdateException e) when (sweep.IdempotencyKey is not null && IsIdempotencyKeyConflict(e))
            {
                // Another submit with the same key committed first: return that sweep.
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return await FindByIdempotencyKeyAsync(sweep.IdempotencyKey, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"sweep with idempotency_key '{sweep.IdempotencyKey}' conflicted but cannot be found", e);
            }
            finally
            {
                db.Entry(sweep).State = EntityState.Detached;
            }

            var count = db.Provider == SegDatabaseProvider.Sqlite
                ? InsertTasksSqlite(sweep, tasks, cancellationToken)
                : await CopyTasksAsync((NpgsqlConnection)db.Database.GetDbConnection(), sweep, tasks, cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                throw new ArgumentException("tasks must contain at least one task (got 0)", nameof(tasks));
            }

            await db.Sweeps.Where(s => s.Id == sweep.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.TaskCount, count), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            sweep.TaskCount = count;
            return new SweepInsertResult(sweep.Id, true, count);
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private async Task<int> CopyTasksAsync(NpgsqlConnection connection, Sweep sweep, IEnumerable<NewRenderTask> tasks, CancellationToken cancellationToken)
    {
        var copy = $"COPY {Quote(TableOf<RenderTaskRecord>())} ({string.Join(", ", CopyColumns().Select(Quote))}) FROM STDIN (FORMAT BINARY)";
        var pending = LowerCaseStatus(RenderTaskStatus.Pending);
        var count = 0;
        var triggersOff = await TryTurnTriggersOffAsync(connection, cancellationToken).ConfigureAwait(false);
        // Disposing the importer without CompleteAsync cancels the COPY, so the server stores none of it.
        await using (var importer = await connection.BeginBinaryImportAsync(copy, cancellationToken).ConfigureAwait(false))
        {
            foreach (var task in tasks)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ValidateTask(task);
                await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(task.Id, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(sweep.Id, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(task.TaskIndex, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(pending, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(sweep.Priority, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(task.Model, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(sweep.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(0.0, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                if (task.TraceParent is null)
                {
                    await importer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await importer.WriteAsync(task.TraceParent, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                }

                count++;
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        if (triggersOff)
        {
            // What the insert trigger would have added, in the same transaction.
            await using var restore = new NpgsqlCommand(SweepCounterTriggers.RestoreTriggersSql, connection);
            await restore.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var counters = new NpgsqlCommand(SweepCounterTriggers.PendingInsertedSql, connection);
            counters.Parameters.AddWithValue("count", count);
            counters.Parameters.AddWithValue("sweep_id", sweep.Id);
            if (await counters.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                throw new InvalidOperationException($"sweep {sweep.Id} has no sweep_counters row to add its {count} tasks to");
            }
        }

        return count;
    }

    /// <summary>
    /// Turns the triggers off for the COPY of this new sweep's tasks when the role may
    /// (<see cref="SweepCounterTriggers.BypassForNewSweepSql"/>); otherwise leaves them on (the same result, slower).
    /// A savepoint keeps the transaction usable when the role may not.
    /// </summary>
    private static async Task<bool> TryTurnTriggersOffAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var savepoint = new NpgsqlCommand("SAVEPOINT seg_triggers_off", connection))
        {
            await savepoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await using var off = new NpgsqlCommand(SweepCounterTriggers.BypassForNewSweepSql, connection);
            await off.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT seg_triggers_off", connection);
            await rollback.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>
    /// SQLite: one INSERT, prepared once and executed per task with new parameter values, inside the
    /// caller's transaction (one journal write at commit, so 100,000 rows take seconds, not minutes).
    /// Parameters come from EF Core's type mappings and converters, so ids, statuses and timestamps are
    /// stored in exactly the form EF Core queries them by. Synchronous on purpose: Microsoft.Data.Sqlite's
    /// async methods run synchronously anyway, and a Task per row would only add overhead.
    /// </summary>
    private int InsertTasksSqlite(Sweep sweep, IEnumerable<NewRenderTask> tasks, CancellationToken cancellationToken)
    {
        var entityType = db.Model.FindEntityType(typeof(RenderTaskRecord))!;
        var properties = InsertedProperties.Select(name => entityType.FindProperty(name)!).ToArray();
        var sqlHelper = db.GetService<ISqlGenerationHelper>();
        using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        var parameters = new DbParameter[properties.Length];
        var toProvider = new Func<object?, object?>[properties.Length];
        for (var i = 0; i < properties.Length; i++)
        {
            var mapping = properties[i].GetRelationalTypeMapping();
            parameters[i] = mapping.CreateParameter(command, "p" + i.ToString(CultureInfo.InvariantCulture), null, nullable: false);
            command.Parameters.Add(parameters[i]);
            toProvider[i] = mapping.Converter?.ConvertToProvider ?? (static v => v);
        }

        command.CommandText =
            $"INSERT INTO {sqlHelper.DelimitIdentifier(TableOf<RenderTaskRecord>())} " +
            $"({string.Join(", ", InsertedProperties.Select(ColumnOf<RenderTaskRecord>).Select(c => sqlHelper.DelimitIdentifier(c)))}) " +
            $"VALUES ({string.Join(", ", parameters.Select(p => "@" + p.ParameterName))})";
        command.Prepare();

        var count = 0;
        foreach (var task in tasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ValidateTask(task);
            object?[] row =
            [
                task.Id, sweep.Id, task.TaskIndex, RenderTaskStatus.Pending, sweep.Priority, 0,
                task.Model, sweep.CreatedAt, 0.0, 0, task.TraceParent,
            ];
            for (var i = 0; i < row.Length; i++)
            {
                parameters[i].Value = row[i] is null ? DBNull.Value : toProvider[i](row[i]);
            }

            command.ExecuteNonQuery();
            count++;
        }

        return count;
    }

    /// <summary>
    /// Properties of a new task that are written, in the order <see cref="CopyTasksAsync"/> and
    /// <see cref="InsertTasksSqlite"/> write them; the rest take NULL.
    /// </summary>
    private static readonly string[] InsertedProperties =
    [
        nameof(RenderTaskRecord.Id),
        nameof(RenderTaskRecord.SweepId),
        nameof(RenderTaskRecord.TaskIndex),
        nameof(RenderTaskRecord.Status),
        nameof(RenderTaskRecord.Priority),
        nameof(RenderTaskRecord.Attempts),
        nameof(RenderTaskRecord.Model),
        nameof(RenderTaskRecord.CreatedAt),
        nameof(RenderTaskRecord.GpuSeconds),
        nameof(RenderTaskRecord.Resends),
        nameof(RenderTaskRecord.TraceParent),
    ];

    /// <summary>Columns written by COPY, in the order <see cref="CopyTasksAsync"/> writes them.</summary>
    private IEnumerable<string> CopyColumns() => InsertedProperties.Select(ColumnOf<RenderTaskRecord>);

    private string TableOf<T>() => db.Model.FindEntityType(typeof(T))!.GetTableName()!;

    private string ColumnOf<T>(string property)
    {
        var entityType = db.Model.FindEntityType(typeof(T))!;
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        return entityType.FindProperty(property)!.GetColumnName(table)!;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string LowerCaseStatus(RenderTaskStatus status) =>
        Configurations.LowerCaseEnumConverter<RenderTaskStatus>.ToText(status);

    private async Task<SweepInsertResult?> FindByIdempotencyKeyAsync(string key, CancellationToken cancellationToken)
    {
        var found = await db.Sweeps.AsNoTracking()
            .Where(s => s.IdempotencyKey == key)
            .Select(s => new { s.Id, s.TaskCount, s.DefinitionSha256 })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return found is null ? null : new SweepInsertResult(found.Id, false, found.TaskCount) { ExistingDefinitionSha256 = found.DefinitionSha256 };
    }

    private static bool IsIdempotencyKeyConflict(DbUpdateException e) => e.InnerException switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pg => pg.ConstraintName == "ix_sweeps_idempotency_key",
        // SQLite names the column, not the index: "UNIQUE constraint failed: sweeps.idempotency_key".
        SqliteException { SqliteExtendedErrorCode: SQLitePCL.raw.SQLITE_CONSTRAINT_UNIQUE } sqlite =>
            sqlite.Message.Contains("sweeps.idempotency_key", StringComparison.Ordinal),
        _ => false,
    };

    private static void ValidateSweep(Sweep sweep)
    {
        if (sweep.Id == Guid.Empty)
        {
            throw new ArgumentException("sweep id must not be empty", nameof(sweep));
        }

        if (string.IsNullOrWhiteSpace(sweep.Name))
        {
            throw new ArgumentException("sweep name must not be empty", nameof(sweep));
        }

        if (sweep.MaxAttempts <= 0)
        {
            throw new ArgumentException($"sweep max_attempts must be > 0 (got {sweep.MaxAttempts})", nameof(sweep));
        }

        if (sweep.IdempotencyKey is { Length: 0 })
        {
            throw new ArgumentException("sweep idempotency_key must be null or non-empty (got '')", nameof(sweep));
        }
    }

    private static void ValidateTask(NewRenderTask task)
    {
        if (task is null)
        {
            throw new ArgumentException("tasks must not contain null", "tasks");
        }

        if (task.Id == Guid.Empty)
        {
            throw new ArgumentException($"task id must not be empty (task_index {task.TaskIndex})", "tasks");
        }

        if (task.TaskIndex < 0)
        {
            throw new ArgumentException($"task_index must be >= 0 (got {task.TaskIndex})", "tasks");
        }

        if (string.IsNullOrWhiteSpace(task.Model))
        {
            throw new ArgumentException($"task model must not be empty (task_index {task.TaskIndex})", "tasks");
        }
    }
}
