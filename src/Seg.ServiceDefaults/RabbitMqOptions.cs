namespace Seg.ServiceDefaults;

/// <summary>RabbitMQ connection settings, bound from the <c>RabbitMq</c> configuration section.</summary>
public sealed record RabbitMqOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "RabbitMq";

    /// <summary>Broker host name.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>AMQP port.</summary>
    public ushort Port { get; init; } = 5672;

    /// <summary>Virtual host.</summary>
    public string VirtualHost { get; init; } = "/";

    /// <summary>User name.</summary>
    public string Username { get; init; } = "guest";

    /// <summary>Password.</summary>
    public string Password { get; init; } = "guest";

    /// <summary>
    /// How long the process waits at start for the bus to connect, in seconds (default 120). Past it the bus has failed
    /// for good: the process exits non-zero so that compose or Kubernetes restarts it, instead of running without a bus.
    /// </summary>
    public double StartTimeoutSeconds { get; init; } = 120;
}
