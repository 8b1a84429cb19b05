using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Seg.Storage.Sqlite;

/// <summary>
/// Sets SQLite's <c>busy_timeout</c> on every connection EF Core opens, so that SQLite itself waits
/// (in short steps) for another connection's write lock. Microsoft.Data.Sqlite also retries busy
/// commands until <c>Default Timeout</c>, but in coarser steps; the pragma makes waits short.
/// </summary>
/// <param name="timeout">How long to wait for a lock.</param>
internal sealed class SqliteBusyTimeoutInterceptor(TimeSpan timeout) : DbConnectionInterceptor
{
    private readonly string _pragma = "PRAGMA busy_timeout = " + ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + ";";

    /// <inheritdoc />
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragma;
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragma;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
