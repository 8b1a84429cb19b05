using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Seg.Storage;

/// <summary>
/// Brings the database schema up to date before anything else uses it; hosts call it once at start.
/// <list type="bullet">
/// <item>PostgreSQL: applies the EF Core migrations in <c>Migrations/</c> (<c>MigrateAsync</c>).</item>
/// <item>
/// SQLite (standalone mode): the migrations are PostgreSQL-only, so the schema is created from the model
/// (<c>EnsureCreatedAsync</c>) when the file is new, and the file is switched to WAL so readers do not
/// block the writer. A SQLite database is never migrated: its <c>user_version</c> holds a fingerprint of
/// the schema, and a file made by a different schema is refused with a message that says so.
/// </item>
/// </list>
/// </summary>
public static class SegDatabaseInitializer
{
    /// <summary>Migrates (PostgreSQL) or creates (SQLite) the schema of <paramref name="db"/>'s database.</summary>
    /// <param name="db">Context of the database.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <exception cref="InvalidOperationException">A SQLite file holds a schema other than this version's.</exception>
    public static async Task InitializeAsync(SegDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Provider == SegDatabaseProvider.PostgreSql)
        {
            await MigrateUnderLockAsync(db, cancellationToken).ConfigureAwait(false);
            return;
        }

        var connection = db.Database.GetDbConnection();
        var path = new SqliteConnectionStringBuilder(connection.ConnectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Persistent in the file: set once, every later connection uses WAL.
            await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
            var fingerprint = SchemaFingerprint(db);
            if (await db.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false))
            {
                // The model makes no triggers; the counters' are created with the schema (migrations do it on PostgreSQL).
                await ExecuteAsync(connection, Sql.SweepCounterTriggers.SqliteCreate, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, $"PRAGMA user_version = {fingerprint.ToString(CultureInfo.InvariantCulture)};", cancellationToken).ConfigureAwait(false);
                return;
            }

            var stored = Convert.ToInt64(await ScalarAsync(connection, "PRAGMA user_version;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (stored != fingerprint)
            {
                throw new InvalidOperationException(
                    $"SQLite database '{path}' has another schema (user_version {stored}, this version of Seg farm expects {fingerprint}); " +
                    "SQLite databases are not migrated: move the file away or use another path");
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Key of the session advisory lock held around the migrations (an arbitrary constant, "SEGMIGR" in ASCII).
    /// </summary>
    public const long MigrationLockKey = 0x5345_474D_4947_52;

    /// <summary>
    /// Applies the migrations while holding a PostgreSQL advisory lock, so that several coordinator replicas starting
    /// together (Helm <c>coordinator.replicas</c> &gt; 1, a rolling upgrade) migrate one after the other: the first
    /// applies them, the others wait, then find nothing left to do. Chosen over a Helm hook Job because it works the
    /// same wherever the coordinator starts (Helm, compose, a plain process), keeps the migrations' retry while the
    /// database comes up, and needs no extra image run or hook ordering; the lock is released with the session if the
    /// process dies.
    /// </summary>
    private static async Task MigrateUnderLockAsync(SegDbContext db, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = db.Database.GetDbConnection();
            await ExecuteAsync(connection, $"SELECT pg_advisory_lock({MigrationLockKey.ToString(CultureInfo.InvariantCulture)});", cancellationToken).ConfigureAwait(false);
            try
            {
                await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({MigrationLockKey.ToString(CultureInfo.InvariantCulture)});", CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A positive 31-bit number derived from the CREATE script of the model.</summary>
    private static int SchemaFingerprint(SegDbContext db)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(db.Database.GenerateCreateScript().ReplaceLineEndings("\n")));
        return (BitConverter.ToInt32(hash, 0) & int.MaxValue) | 1;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
