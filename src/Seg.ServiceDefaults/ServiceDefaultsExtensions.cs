using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
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
    /// OpenTelemetry traces and metrics for ASP.NET Core, HttpClient, MassTransit and Seg's own source, exported
    /// over OTLP, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard variable); a liveness health check
    /// tagged <c>live</c>.
    /// </summary>
    public static TBuilder AddSegServiceDefaults<TBuilder>(this TBuilder builder, string serviceName)
        where TBuilder : IHostApplicationBuilder
    {
        // Spans and metrics cost CPU on every message; collect them only when there is somewhere to send them.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: typeof(ServiceDefaultsExtensions).Assembly.GetName().Version?.ToString()))
                .WithTracing(tracing => tracing
                    .AddSource(SegTelemetry.Name)
                    .AddSource("MassTransit")
                    .AddAspNetCoreInstrumentation(options => options.Filter = context =>
                        !context.Request.Path.StartsWithSegments("/healthz") && !context.Request.Path.StartsWithSegments("/readyz"))
                    .AddHttpClientInstrumentation())
                .WithMetrics(metrics => metrics
                    .AddMeter(SegTelemetry.Name)
                    .AddMeter("MassTransit")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

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
            Predicate = check => check.Tags.Contains("ready"),
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
