using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Seg.Coordinator.Audit;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Dispatch;
using Seg.Coordinator.Images;
using Seg.Coordinator.Infrastructure;
using Seg.Coordinator.IntegrationEvents;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Workers;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Storage.Health;

namespace Seg.Coordinator.Extensions;

/// <summary>
/// The coordinator's services. The web app calls <see cref="AddCoordinatorServices"/>; a host of its own (the
/// standalone <c>seg run</c>) composes the parts: storage (<c>AddSegStorageSqlite</c>), then
/// <see cref="AddCoordinatorCore"/>, then one <c>AddSegMassTransit</c> whose consumers include
/// <see cref="AddCoordinatorConsumers"/>.
/// </summary>
public static class CoordinatorServiceExtensions
{
    /// <summary>
    /// Everything the coordinator web app runs: PostgreSQL (or SQLite, see <c>AddSegStorage</c>) and the blob store,
    /// the core (<see cref="AddCoordinatorCore"/>), the HTTP API's services, and the bus on RabbitMQ with the
    /// coordinator's consumers.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddCoordinatorStorage();
        builder.Services.AddCoordinatorCore(builder.Configuration);
        builder.AddCoordinatorApi();
        builder.AddCoordinatorAuth();
        builder.AddCoordinatorMessaging();
        return builder;
    }

    /// <summary>
    /// The coordinator without its HTTP API and without a bus, for any host:
    /// <list type="bullet">
    /// <item><see cref="CoordinatorOptions"/> bound from the <c>Coordinator</c> section of
    /// <paramref name="configuration"/>, and <see cref="PerSweepMetricsOptions"/> from its <c>Telemetry</c> section, checked at start;</item>
    /// <item>the hosted <see cref="DatabaseMigrator"/> (<see cref="SegDatabaseInitializer"/>: migrates PostgreSQL,
    /// creates a SQLite schema; then <see cref="InFlightRecovery"/> when
    /// <see cref="CoordinatorOptions.RecoverInFlightAtStart"/> is set);</item>
    /// <item>scoped <see cref="SweepSubmitter"/>, <see cref="SweepQueries"/>, <see cref="SweepCommands"/>,
    /// <see cref="ImageQueries"/>, <see cref="WorkerQueries"/>, <see cref="StuckTaskQuery"/>,
    /// <see cref="SweepProgress"/> (used by the consumers), <see cref="DispatchRound"/> and
    /// <see cref="InFlightRecovery"/>;</item>
    /// <item>singleton <see cref="DispatchSignal"/>, <see cref="SweepExpansions"/>, <see cref="CoordinatorMetrics"/> and <see cref="PerSweepMetrics"/>;</item>
    /// <item>the hosted <see cref="TaskDispatcher"/>, <see cref="StuckTaskMonitor"/>, <see cref="TaskCountSampler"/> and
    /// <see cref="BlobAuditService"/> (also a singleton).</item>
    /// </list>
    /// The caller registers the storage (<c>AddSegStorage</c> or <c>AddSegStorageSqlite</c>) and a MassTransit bus
    /// (any transport) with <see cref="AddCoordinatorConsumers"/>. Call this before the bus and before other hosted
    /// services that use the database, so that the schema is ready before they start. The dispatcher sends its
    /// first round only once the host has started, so the bus may be registered after it.
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Configuration holding the <c>Coordinator</c> section (absent: the defaults).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddCoordinatorCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSegHeartbeatOptions(configuration);
        services.AddOptions<CoordinatorOptions>()
            .Bind(configuration.GetSection(CoordinatorOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<PerSweepMetricsOptions>()
            .Bind(configuration.GetSection(PerSweepMetricsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        // First hosted service of the coordinator: the host starts it, and waits for it, before the others.
        services.AddHostedService<DatabaseMigrator>();

        services.TryAddScoped<SweepSubmitter>();
        services.TryAddScoped<SweepQueries>();
        services.TryAddScoped<SweepCommands>();
        services.TryAddScoped<ImageQueries>();
        services.TryAddScoped<WorkerQueries>();
        services.TryAddScoped<StuckTaskQuery>();
        services.TryAddScoped<SweepProgress>();

        services.TryAddSingleton<DispatchSignal>();
        services.TryAddSingleton<BrokerConnection>();
        // The bus tells the dispatcher when its connection comes back (lost messages are sent again at once). The
        // factory makes MassTransit connect the one singleton (the type-only overload resolved a second instance).
        services.AddReceiveEndpointObserver(provider => provider.GetRequiredService<BrokerConnection>());
        services.TryAddSingleton<CoordinatorMetrics>();
        // IMeterFactory for PerSweepMetrics (the hosts register it already; this keeps any other host working).
        services.AddMetrics();
        services.TryAddSingleton<PerSweepMetrics>();
        services.TryAddSingleton<SweepExpansions>();
        services.TryAddScoped<DispatchRound>();
        services.TryAddScoped<InFlightRecovery>();
        services.AddHostedService<TaskDispatcher>();
        services.AddHostedService<StuckTaskMonitor>();
        services.AddHostedService<TaskCountSampler>();
        // Singleton as well as hosted: the consumer of BlobContainerRecreated asks it for an audit.
        services.TryAddSingleton<BlobAuditService>();
        services.AddHostedService(provider => provider.GetRequiredService<BlobAuditService>());
        return services;
    }

    /// <summary>
    /// Adds the consumers of the workers' events to a bus: <see cref="RenderTaskSucceededConsumer"/>,
    /// <see cref="RenderTaskFailedConsumer"/>, <see cref="RenderTaskFaultConsumer"/>, <see cref="WorkerHeartbeatConsumer"/>
    /// and <see cref="BlobContainerRecreatedConsumer"/>, each on its own endpoint (kebab-case names, e.g.
    /// <c>render-task-succeeded</c>) with the retry of <see cref="CoordinatorOptions.Retry"/> on that endpoint only, so that a bus
    /// shared with the worker's consumer leaves the worker's own retries alone. They need
    /// <see cref="AddCoordinatorCore"/>.
    /// </summary>
    /// <param name="bus">The bus registration (inside <c>AddMassTransit</c> or <c>AddSegMassTransit</c>).</param>
    public static void AddCoordinatorConsumers(this IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<RenderTaskSucceededConsumer, CoordinatorConsumerDefinition<RenderTaskSucceededConsumer>>();
        bus.AddConsumer<RenderTaskFailedConsumer, CoordinatorConsumerDefinition<RenderTaskFailedConsumer>>();
        bus.AddConsumer<RenderTaskFaultConsumer, CoordinatorConsumerDefinition<RenderTaskFaultConsumer>>();
        bus.AddConsumer<WorkerHeartbeatConsumer, CoordinatorConsumerDefinition<WorkerHeartbeatConsumer>>();
        bus.AddConsumer<BlobContainerRecreatedConsumer, CoordinatorConsumerDefinition<BlobContainerRecreatedConsumer>>();
    }

    /// <summary>
    /// The database from configuration (<c>AddSegStorage</c>: <c>ConnectionStrings:Postgres</c>, or SQLite) and the
    /// blob store (<c>BlobStorage:*</c>), with their readiness checks (<c>/readyz</c>: <c>database</c>, <c>blob-store</c>).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorStorage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSegStorage(builder.Configuration);
        builder.Services.AddHealthChecks().AddSegStorageChecks();
        return builder;
    }

    /// <summary>The HTTP API's own services: ProblemDetails, the OpenAPI document and JSON with enum names.</summary>
    /// <param name="builder">The host builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorApi(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        return builder;
    }

    /// <summary>The MassTransit bus on RabbitMQ (<c>RabbitMq:*</c>) with <see cref="AddCoordinatorConsumers"/>.</summary>
    /// <param name="builder">The host builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorMessaging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSegMassTransit(builder.Configuration, bus => bus.AddCoordinatorConsumers());
        return builder;
    }
}
