using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Seg.Storage.Tests;

/// <summary>
/// A fresh database <c>seg_test_&lt;random&gt;</c> per test class, migrated with the real migrations (by
/// <see cref="SegDatabaseInitializer"/>, as the coordinator does) and dropped afterwards. Fails (does not skip) when PostgreSQL is not reachable.
/// </summary>
public sealed class PostgresDatabaseFixture : ITestDatabase, IAsyncLifetime
{
    public SegDatabaseProvider Provider => SegDatabaseProvider.PostgreSql;

    public string DatabaseName { get; } = "seg_test_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => TestServices.PostgresDatabase(DatabaseName);

    /// <summary>Set false by fixtures that want an empty database (the migration tests).</summary>
    public bool Migrate { get; init; } = true;

    public SegDbContext CreateContext()
    {
        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.Configure(builder, ConnectionString);
        return new SegDbContext(builder.Options);
    }

    public async Task InitializeAsync()
    {
        await using (var admin = await OpenAdminAsync())
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{DatabaseName}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        if (Migrate)
        {
            await using var db = CreateContext();
            await SegDatabaseInitializer.InitializeAsync(db, CancellationToken.None);
        }
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = await OpenAdminAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(TestServices.Postgres) { Database = "postgres", Timeout = 5 };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{builder.Host}:{builder.Port}' (ConnectionStrings__Postgres). " +
                $"Start it with infra/dev-services.sh (DESIGN.md section 6). Error: {e.Message}", e);
        }
    }
}

/// <summary>The same, but the database is left empty so a test can apply the migrations itself.</summary>
public sealed class EmptyPostgresDatabaseFixture : IAsyncLifetime
{
    public PostgresDatabaseFixture Database { get; } = new() { Migrate = false };

    public Task InitializeAsync() => Database.InitializeAsync();

    public Task DisposeAsync() => Database.DisposeAsync();
}
