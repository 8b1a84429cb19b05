namespace Seg.ServiceDefaults;

/// <summary>
/// What the coordinator and the worker measure and trace, bound from the <c>Telemetry</c> configuration section. Traces
/// are exported over OTLP to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the standard variable, with <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>
/// and the rest); without an endpoint no span is made, since it would go nowhere.
/// </summary>
public sealed record TelemetryOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Telemetry";

    /// <summary>Where Prometheus scrapes the metrics.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Serve <see cref="MetricsPath"/> in the Prometheus exposition format (on by default).</summary>
    public bool Metrics { get; init; } = true;

    /// <summary>Trace when an OTLP endpoint is set (on by default); off to measure or avoid the cost.</summary>
    public bool Tracing { get; init; } = true;
}
