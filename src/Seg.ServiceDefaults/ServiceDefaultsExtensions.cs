using System.Diagnostics;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Seg.ServiceDefaults;

/// <summary>
/// What the coordinator and the workers share (as eShop's ServiceDefaults): OpenTelemetry, health checks and
/// the MassTransit bus on RabbitMQ (or in memory for the standalone mode).
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// OpenTelemetry (settings in <see cref="TelemetryOptions"/>): metrics of Seg's meter, MassTransit, ASP.NET Core and
    /// HttpClient served on <c>/metrics</c> for Prometheus (<see cref="MapSegMetricsEndpoint"/>) and also exported over
    /// OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; traces of Seg's sources, the pipeline, MassTransit, ASP.NET
    /// Core, HttpClient, Npgsql and the Azure SDK, exported over OTLP when that endpoint is set. A liveness health
    /// check tagged <c>live</c>, and a timeout on each readiness check (<see cref="HealthOptionsExtensions.AddSegReadinessTimeouts"/>).
    /// </summary>
    public static TBuilder AddSegServiceDefaults<TBuilder>(this TBuilder builder, string serviceName)
        where TBuilder : IHostApplicationBuilder
    {
        var telemetry = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.Section));
        builder.Services.AddSegReadinessTimeouts(builder.Configuration);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // Spans cost CPU on every message; make them only when there is somewhere to send them.
        var tracing = telemetry.Tracing && otlp;
        if (!tracing && !telemetry.Metrics && !otlp)
        {
            builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
            return builder;
        }

        var open = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: typeof(ServiceDefaultsExtensions).Assembly.GetName().Version?.ToString()));
        if (tracing)
        {
            // The Azure SDK makes its spans (blob upload, container checks) only when this switch is on (see
            // https://learn.microsoft.com/dotnet/azure/sdk/tracing).
            AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
            open.WithTracing(traces => traces
                .AddSource(SegTelemetry.Name)
                .AddSource(SegTelemetry.PipelineSourceName)
                .AddSource("MassTransit")
                // The storage clients' spans (BlobClient.Upload, with the storage attributes), not Azure.Core.Http's
                // second span under each of them for the same request.
                .AddSource("Azure.Storage.*")
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsProbeOrScrape(context.Request.Path))
                .AddHttpClientInstrumentation(options => options.FilterHttpRequestMessage = _ =>
                    // The Azure SDK traces its own requests (with the storage attributes); a second span each says nothing more.
                    !IsAzureSdkSpan(Activity.Current?.Parent) && !IsAzureSdkSpan(Activity.Current))
                .AddNpgsql()
                .AddOtlpExporter());
        }

        if (telemetry.Metrics || otlp)
        {
            open.WithMetrics(metrics =>
            {
                metrics
                    // Seconds from milliseconds (a PNG) to minutes (an SDXL render on a slow card); the default buckets are for milliseconds.
                    .AddView(instrument => instrument is Histogram<double> && instrument.Meter.Name == SegTelemetry.Name && instrument.Unit == "s"
                        ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
                        : null)
                    .AddMeter(SegTelemetry.Name)
                    .AddMeter("MassTransit")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (telemetry.Metrics)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        }

        if (otlp)
        {
            // Logs carry the trace id of the span they were written in: the collector joins them to the traces.
            builder.Logging.AddOpenTelemetry(logging => logging.AddOtlpExporter());
        }

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Maps <see cref="TelemetryOptions.MetricsPath"/> (Prometheus exposition) when metrics are on, and lets the caller
    /// secure it (the coordinator asks for a key with the <c>read</c> scope).
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="secure">Applied to the endpoint (authorization), when it is mapped.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IEndpointRouteBuilder MapSegMetricsEndpoint(this IEndpointRouteBuilder app, Action<IEndpointConventionBuilder> secure)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(secure);
        if (app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value.Metrics)
        {
            secure(app.MapPrometheusScrapingEndpoint(TelemetryOptions.MetricsPath));
        }

        return app;
    }

    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private static bool IsAzureSdkSpan(Activity? activity) => activity?.Source.Name.StartsWith("Azure.", StringComparison.Ordinal) == true;

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments(TelemetryOptions.MetricsPath);

    /// <summary>The name of the broker's readiness check (MassTransit's bus health).</summary>
    public const string BrokerCheck = "broker";

    /// <summary>
    /// <c>/healthz</c>: the process is alive (liveness; plain <c>Healthy</c>). <c>/readyz</c>: every check tagged
    /// <c>ready</c> (the database, the broker, the blob store), answered 200 when all are healthy and 503 otherwise, with
    /// a JSON body that names each check, its status and, when it fails, why.
    /// </summary>
    public static IEndpointRouteBuilder MapSegHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // Open to probes: they carry no credentials.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") }).AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(HealthOptions.ReadyTag),
            ResponseWriter = HealthReportJson.WriteAsync,
        }).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Registers MassTransit with the given consumers on RabbitMQ (settings from <see cref="RabbitMqOptions"/>),
    /// or on the in-memory transport when <paramref name="inMemory"/> is true (the standalone <c>seg run</c>).
    /// </summary>
    public static IServiceCollection AddSegMassTransit(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<IBusRegistrationConfigurator> configureConsumers,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configureBus = null,
        bool inMemory = false)
    {
        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            bus.ConfigureHealthCheckOptions(health =>
            {
                health.Name = BrokerCheck;
                health.MinimalFailureStatus = HealthStatus.Unhealthy;
            });
            configureConsumers(bus);
            bus.AddBusObserver<BrokerConnectionObserver>();
            if (inMemory)
            {
                bus.UsingInMemory((context, cfg) =>
                {
                    configureBus?.Invoke(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                services.AddOptions<MassTransitHostOptions>().Configure(host =>
                {
                    // A bus that cannot start fails the host's start (a fatal error, exit code 1), within a bound.
                    host.WaitUntilStarted = true;
                    host.StartTimeout = TimeSpan.FromSeconds(rabbit.StartTimeoutSeconds);
                });
                bus.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, host =>
                    {
                        host.Username(rabbit.Username);
                        host.Password(rabbit.Password);
                    });
                    configureBus?.Invoke(context, cfg);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }
}
