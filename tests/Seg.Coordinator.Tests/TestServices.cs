using Npgsql;

namespace Seg.Coordinator.Tests;

/// <summary>Where the real services are, as infra/dev-services.sh prints them (environment variables).</summary>
public static class TestServices
{
    public static string Postgres => FromEnvironment("ConnectionStrings__Postgres", "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg");

    public static string Blobs => FromEnvironment("ConnectionStrings__Blobs", "UseDevelopmentStorage=true");

    public static string RabbitHost => FromEnvironment("RabbitMq__Host", "127.0.0.1");

    public static int RabbitPort => int.Parse(FromEnvironment("RabbitMq__Port", "5672"), System.Globalization.CultureInfo.InvariantCulture);

    public static string RabbitUser => FromEnvironment("RabbitMq__Username", "guest");

    public static string RabbitPassword => FromEnvironment("RabbitMq__Password", "guest");

    public static string PostgresDatabase(string database) =>
        new NpgsqlConnectionStringBuilder(Postgres) { Database = database }.ConnectionString;

    private static string FromEnvironment(string name, string fallback)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? fallback : value;
    }
}
