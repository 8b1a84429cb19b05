using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;

namespace Seg.Testing;

/// <summary>
/// A throw-away database on the PostgreSQL server of <see cref="TestServices.Postgres"/>: created empty by
/// <see cref="CreateAsync"/>, removed (with its open connections) by <see cref="DropAsync"/>. An unreachable server
/// fails the test with what to do, never skips it.
/// </summary>
public sealed partial class PostgresTestDatabase
{
    /// <summary>A database named exactly <paramref name="name"/> (not created yet).</summary>
    /// <param name="name">Lowercase letters, digits and underscores, starting with a letter: the name goes into SQL text.</param>
    public PostgresTestDatabase(string name)
    {
        if (!SafeName().IsMatch(name))
        {
            throw new ArgumentException(
                $"name must be lowercase letters, digits and underscores starting with a letter, at most 63 characters (got '{name}')", nameof(name));
        }

        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(TestServices.Postgres) { Database = name }.ConnectionString;
    }

    /// <summary>The database name.</summary>
    public string Name { get; }

    /// <summary><see cref="TestServices.Postgres"/> pointed at this database.</summary>
    public string ConnectionString { get; }

    /// <summary>A database named <paramref name="prefix"/> followed by 12 random hex digits (not created yet).</summary>
    public static PostgresTestDatabase WithUniqueName(string prefix) => new(prefix + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Creates the database, empty.</summary>
    public async Task CreateAsync(CancellationToken cancellationToken = default)
    {
        await using var admin = await OpenAdminAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{Name}\"", admin);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Drops the database if it exists, closing the connections still open on it (pooled ones included).</summary>
    public async Task DropAsync(CancellationToken cancellationToken = default)
    {
        // Idle pooled connections would otherwise keep the database busy; FORCE ends those of other processes.
        NpgsqlConnection.ClearAllPools();
        await using var admin = await OpenAdminAsync(cancellationToken);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<NpgsqlConnection> OpenAdminAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(TestServices.Postgres) { Database = "postgres", Timeout = 5 };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{builder.Host}:{builder.Port}' (ConnectionStrings__Postgres). " +
                "Start it with `bash infra/dev-services.sh start` and export what it prints (scripts/test.sh does both; " +
                $"DESIGN.md section 6). Error: {e.Message}", e);
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex SafeName();
}
