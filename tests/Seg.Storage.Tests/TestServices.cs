using Npgsql;

namespace Seg.Storage.Tests;

/// <summary>Connection strings of the real services the tests use (set by infra/dev-services.sh).</summary>
public static class TestServices
{
    public const string DefaultPostgres = "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg";
    public const string DefaultBlobs = "UseDevelopmentStorage=true";

    public static string Postgres => FromEnvironment("ConnectionStrings__Postgres", DefaultPostgres);

    public static string Blobs => FromEnvironment("ConnectionStrings__Blobs", DefaultBlobs);

    /// <summary>The PostgreSQL connection string pointed at another database.</summary>
    public static string PostgresDatabase(string database) =>
        new NpgsqlConnectionStringBuilder(Postgres) { Database = database }.ConnectionString;

    private static string FromEnvironment(string name, string fallback)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? fallback : value;
    }
}
