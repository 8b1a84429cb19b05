using Npgsql;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>Connection settings of the real services (set by infra/dev-services.sh; the defaults are its defaults).</summary>
public static class TestServices
{
    public static string Postgres => FromEnvironment("ConnectionStrings__Postgres", "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg");

    public static string Blobs => FromEnvironment("ConnectionStrings__Blobs", "UseDevelopmentStorage=true");

    public static string RabbitHost => FromEnvironment("RabbitMq__Host", "127.0.0.1");

    public static string RabbitPort => FromEnvironment("RabbitMq__Port", "5672");

    public static string PostgresDatabase(string database) =>
        new NpgsqlConnectionStringBuilder(Postgres) { Database = database }.ConnectionString;

    private static string FromEnvironment(string name, string fallback)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? fallback : value;
    }
}
