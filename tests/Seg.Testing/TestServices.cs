using System.Globalization;

namespace Seg.Testing;

/// <summary>
/// Where the real services are, as <c>infra/dev-services.sh start</c> prints them (environment variables); an unset or
/// blank variable falls back to that script's default.
/// </summary>
public static class TestServices
{
    /// <summary>The PostgreSQL connection string (<c>ConnectionStrings__Postgres</c>).</summary>
    public static string Postgres => FromEnvironment("ConnectionStrings__Postgres", "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg");

    /// <summary>The blob service connection string (<c>ConnectionStrings__Blobs</c>; Azurite by default).</summary>
    public static string Blobs => FromEnvironment("ConnectionStrings__Blobs", "UseDevelopmentStorage=true");

    /// <summary>The RabbitMQ host (<c>RabbitMq__Host</c>).</summary>
    public static string RabbitHost => FromEnvironment("RabbitMq__Host", "127.0.0.1");

    /// <summary>The RabbitMQ AMQP port (<c>RabbitMq__Port</c>).</summary>
    public static int RabbitPort => int.Parse(FromEnvironment("RabbitMq__Port", "5672"), CultureInfo.InvariantCulture);

    /// <summary>The RabbitMQ user (<c>RabbitMq__Username</c>).</summary>
    public static string RabbitUser => FromEnvironment("RabbitMq__Username", "guest");

    /// <summary>The RabbitMQ password (<c>RabbitMq__Password</c>).</summary>
    public static string RabbitPassword => FromEnvironment("RabbitMq__Password", "guest");

    private static string FromEnvironment(string name, string fallback)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? fallback : value;
    }
}
