using Npgsql;

namespace Seg.Farm.Tests;

/// <summary>
/// The real services the farm tests run on, as <c>infra/dev-services.sh start</c> exports them (the defaults
/// are that script's defaults). A missing service fails the test with what to do, never skips it.
/// </summary>
public static class FarmServices
{
    public static string Postgres => Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg";

    public static string Blobs => Environment.GetEnvironmentVariable("ConnectionStrings__Blobs") ?? "UseDevelopmentStorage=true";

    public static string RabbitHost => Environment.GetEnvironmentVariable("RabbitMq__Host") ?? "127.0.0.1";

    public static string RabbitPort => Environment.GetEnvironmentVariable("RabbitMq__Port") ?? "5672";

    /// <summary>Creates an empty database for one test class and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string name)
    {
        try
        {
            await using var admin = new NpgsqlConnection(Postgres);
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{Postgres}' ({e.Message}). Start the services with `bash infra/dev-services.sh start` " +
                "and export what it prints (scripts/test.sh does both).", e);
        }
        return new NpgsqlConnectionStringBuilder(Postgres) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a test database, closing its connections.</summary>
    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(Postgres);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
