using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Worker.Consumers;
using Seg.Worker.Devices;
using Seg.Worker.Heartbeats;
using Seg.Worker.Models;
using Seg.Worker.Rendering;
using Seg.Worker.Tasks;

namespace Seg.Worker;

/// <summary>The worker's services: options, render slots, renderer, task steps, heartbeats and graceful shutdown.</summary>
public static class WorkerServiceExtensions
{
    /// <summary>Time the host gives the bus to stop beyond the drain time (release the task, close the channel).</summary>
    public static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Registers <see cref="WorkerOptions"/> (section <c>Worker</c>, validated at startup), the
    /// <see cref="PipelinePool"/>, the renderer of <see cref="WorkerOptions.RenderMode"/>, the consumer's helpers,
    /// the device check, <see cref="HeartbeatService"/> and <see cref="LeftBehindTaskRelease"/>, and the shutdown timeouts: consumers get
    /// <see cref="WorkerOptions.DrainTimeoutSeconds"/> to finish, then their renders are cancelled and their tasks
    /// released. Call before <c>AddSegMassTransit</c>, so the device check runs before the bus starts and the
    /// heartbeats stop after it.
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Application configuration.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddWorkerServices(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WorkerOptions>().Bind(configuration.GetSection(WorkerOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());
        services.AddSegHeartbeatOptions(configuration);
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<PipelinePool>();
        services.AddSingleton<ModelResolver>();
        services.AddSingleton(provider => new ModelFileHasher(provider.GetRequiredService<IOptions<WorkerOptions>>()));
        services.AddSingleton<ITaskRenderer>(provider =>
            provider.GetRequiredService<IOptions<WorkerOptions>>().Value.RenderMode == RenderMode.Fake
                ? ActivatorUtilities.CreateInstance<FakeTaskRenderer>(provider)
                : ActivatorUtilities.CreateInstance<PipelineTaskRenderer>(provider));
        services.AddSingleton<WorkerStats>();
        services.AddSingleton<PendingRenders>();
        services.AddSingleton<TasksInHand>();
        services.AddSingleton<LeftBehindTaskRelease>();
        services.AddHostedService(provider => provider.GetRequiredService<LeftBehindTaskRelease>());
        services.AddScoped<TaskRecords>();
        services.AddScoped<TaskImageStore>();

        services.AddHostedService<DeviceCheckService>();
        // Resolvable too: the standalone run writes a last heartbeat when its sweep ends.
        services.AddSingleton<HeartbeatService>();
        services.AddHostedService(provider => provider.GetRequiredService<HeartbeatService>());
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(worker.Value.DrainTimeoutSeconds) + 2 * StopMargin);
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<WorkerOptions>>((bus, worker) =>
        {
            var drain = TimeSpan.FromSeconds(worker.Value.DrainTimeoutSeconds);
            bus.ConsumerStopTimeout = drain;
            bus.StopTimeout = drain + StopMargin;
        });
        return services;
    }

    /// <summary>Registers the worker's consumer (<see cref="RenderTaskConsumer"/> with its definition) on a bus.</summary>
    /// <param name="bus">The bus registration.</param>
    /// <returns><paramref name="bus"/>.</returns>
    public static IBusRegistrationConfigurator AddWorkerConsumers(this IBusRegistrationConfigurator bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.AddConsumer<RenderTaskConsumer, RenderTaskConsumerDefinition>();
        return bus;
    }
}
