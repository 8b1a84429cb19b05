using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Storage;
using Seg.Storage.Blobs;
using Seg.Worker.Rendering;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>
/// The worker's services on MassTransit's in-memory test harness, against the real PostgreSQL and blob service of a
/// <see cref="WorkerTestEnvironment"/>. The real renderer is wrapped in a <see cref="CountingRenderer"/>.
/// </summary>
public sealed class HarnessWorker : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private HarnessWorker(ServiceProvider provider, string queue)
    {
        _provider = provider;
        Harness = provider.GetRequiredService<ITestHarness>();
        Renders = provider.GetRequiredService<CountingRenderer>();
        Queue = queue;
        Harness.Bus.ConnectPublishObserver(Recorder);
        Harness.Bus.ConnectConsumeMessageObserver(Recorder);
    }

    public BusRecorder Recorder { get; } = new();

    public ITestHarness Harness { get; }

    public CountingRenderer Renders { get; }

    public string Queue { get; }

    public IServiceProvider Services => _provider;

    public static async Task<HarnessWorker> StartAsync(
        WorkerTestEnvironment environment,
        Action<Dictionary<string, string?>>? settings = null,
        Func<IImageBlobStore, IImageBlobStore>? wrapBlobs = null)
    {
        var values = environment.Settings();
        settings?.Invoke(values);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSegStorage(configuration);
        services.AddWorkerServices(configuration);

        var renderer = services.Single(d => d.ServiceType == typeof(ITaskRenderer));
        services.Remove(renderer);
        services.AddSingleton(provider => new CountingRenderer((ITaskRenderer)renderer.ImplementationFactory!(provider)));
        services.AddSingleton<ITaskRenderer>(provider => provider.GetRequiredService<CountingRenderer>());
        if (wrapBlobs is not null)
        {
            var blobs = services.Single(d => d.ServiceType == typeof(IImageBlobStore));
            services.Remove(blobs);
            services.AddSingleton(provider => wrapBlobs((IImageBlobStore)blobs.ImplementationFactory!(provider)));
        }

        services.AddMassTransitTestHarness(bus => bus.AddWorkerConsumers());
        var provider = services.BuildServiceProvider(validateScopes: true);
        var harness = provider.GetRequiredService<ITestHarness>();
        harness.TestTimeout = TimeSpan.FromSeconds(90);
        harness.TestInactivityTimeout = TimeSpan.FromSeconds(5);
        await harness.Start();
        return new HarnessWorker(provider, values["Worker:QueueName"]!);
    }

    public async Task SendAsync(RenderTask task)
    {
        var endpoint = await Harness.Bus.GetSendEndpoint(new Uri($"queue:{Queue}"));
        await endpoint.Send(task);
    }

    /// <summary>Sends the task and waits until the consumer has finished with it (successfully or not).</summary>
    public async Task SendAndWaitAsync(RenderTask task)
    {
        var before = Recorder.Finished(task.TaskId);
        await SendAsync(task);
        await Wait.UntilAsync(() => Task.FromResult(Recorder.Finished(task.TaskId) > before), $"task {task.TaskId} consumed");
    }

    public int ConsumedCount(Guid taskId) => Recorder.Finished(taskId);

    public IReadOnlyList<T> Published<T>(Func<T, bool> filter)
        where T : class => Recorder.Published(filter);

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}
