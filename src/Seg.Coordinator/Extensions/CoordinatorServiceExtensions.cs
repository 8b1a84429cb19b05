using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Seg.Coordinator.Dispatch;
using Seg.Coordinator.Images;
using Seg.Coordinator.Infrastructure;
using Seg.Coordinator.IntegrationEvents;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Workers;
using Seg.ServiceDefaults;
using Seg.Storage;

namespace Seg.Coordinator.Extensions;

/// <summary>The coordinator's services, one method per concern.</summary>
public static class CoordinatorServiceExtensions
{
    /// <summary>Everything the coordinator runs: options, storage, the HTTP API, messaging, the dispatcher and monitors.</summary>
    public static IHostApplicationBuilder AddCoordinatorServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CoordinatorOptions>()
            .Bind(builder.Configuration.GetSection(CoordinatorOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.AddCoordinatorStorage();
        builder.AddCoordinatorApi();
        builder.AddCoordinatorMessaging();
        builder.AddCoordinatorDispatch();
        return builder;
    }

    /// <summary>
    /// PostgreSQL and the blob store (<c>ConnectionStrings:Postgres</c>, <c>BlobStorage:*</c>), the migrations applied at
    /// start, and the database readiness check. The migrator is registered before the bus and the dispatcher so that the
    /// host starts it, and waits for it, first.
    /// </summary>
    public static IHostApplicationBuilder AddCoordinatorStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSegStorage(builder.Configuration);
        builder.Services.AddHostedService<DatabaseMigrator>();
        builder.Services.AddHealthChecks().AddDbContextCheck<SegDbContext>("postgres", tags: ["ready"]);
        return builder;
    }

    /// <summary>The HTTP API's services: ProblemDetails, the OpenAPI document, JSON with enum names, queries and commands.</summary>
    public static IHostApplicationBuilder AddCoordinatorApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        builder.Services.AddScoped<SweepSubmitter>();
        builder.Services.AddScoped<SweepQueries>();
        builder.Services.AddScoped<SweepCommands>();
        builder.Services.AddScoped<ImageQueries>();
        builder.Services.AddScoped<WorkerQueries>();
        builder.Services.AddScoped<StuckTaskQuery>();
        return builder;
    }

    /// <summary>
    /// The MassTransit bus on RabbitMQ (<c>RabbitMq:*</c>) with the consumers of the workers' events. Consumers retry
    /// transient faults (the database restarting) a few times before the message goes to the error queue.
    /// </summary>
    public static IHostApplicationBuilder AddCoordinatorMessaging(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<SweepProgress>();
        builder.Services.AddSegMassTransit(
            builder.Configuration,
            bus =>
            {
                bus.AddConsumer<RenderTaskSucceededConsumer>();
                bus.AddConsumer<RenderTaskFailedConsumer>();
                bus.AddConsumer<RenderTaskFaultConsumer>();
                bus.AddConsumer<WorkerHeartbeatConsumer>();
            },
            (_, cfg) => cfg.UseMessageRetry(retry =>
            {
                retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));
                retry.Ignore<ArgumentException>(); // a malformed message will not get better
            }));
        return builder;
    }

    /// <summary>The dispatcher (the outbox loop), its wake-up signal, the stuck-task monitor and the counters.</summary>
    public static IHostApplicationBuilder AddCoordinatorDispatch(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DispatchSignal>();
        builder.Services.AddSingleton<CoordinatorMetrics>();
        builder.Services.AddScoped<DispatchRound>();
        builder.Services.AddHostedService<TaskDispatcher>();
        builder.Services.AddHostedService<StuckTaskMonitor>();
        return builder;
    }
}
