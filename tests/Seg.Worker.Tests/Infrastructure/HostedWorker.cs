using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Seg.Contracts.Messages;
using Seg.ServiceDefaults;
using Seg.Storage;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>
/// A worker host wired as Program.cs wires it, on the real RabbitMQ (plus a temporary endpoint that records the
/// farm's events for the test).
/// </summary>
public sealed class HostedWorker : IAsyncDisposable
{
    private bool _stopped;

    private HostedWorker(IHost host, string queue)
    {
        Host = host;
        Queue = queue;
        Events = host.Services.GetRequiredService<RecordedEvents>();
    }

    public IHost Host { get; }

    public string Queue { get; }

    public RecordedEvents Events { get; }

    public static async Task<HostedWorker> StartAsync(WorkerTestEnvironment environment, string workerId, Action<Dictionary<string, string?>>? settings = null)
    {
        var values = environment.Settings(workerId);
        settings?.Invoke(values);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(values);
        builder.AddSegServiceDefaults("seg-worker-test");
        builder.Services.AddSegStorage(builder.Configuration);
        builder.Services.AddWorkerServices(builder.Configuration);
        builder.Services.AddSingleton<RecordedEvents>();
        builder.Services.AddSegMassTransit(builder.Configuration, bus =>
        {
            bus.AddWorkerConsumers();
            bus.AddConsumer<EventRecorder>().Endpoint(e =>
            {
                e.Name = $"worker-tests-events-{Guid.NewGuid():N}";
                e.Temporary = true;
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        var health = await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        if (health != BusHealthStatus.Healthy)
        {
            await host.StopAsync();
            host.Dispose();
            Assert.Fail($"RabbitMQ is not reachable at {TestServices.RabbitHost}:{TestServices.RabbitPort} (RabbitMq__Host, RabbitMq__Port): " +
                        $"the bus is {health}. Start it with infra/dev-services.sh (DESIGN.md section 6).");
        }

        return new HostedWorker(host, values["Worker:QueueName"]!);
    }

    public Task SendAsync(RenderTask task) => SendAsync(Queue, task);

    /// <summary>
    /// Sends to a queue. Kept inside this async method on purpose: MassTransit keeps its log context in an
    /// AsyncLocal, and touching the bus from a test method would leak this host's context into hosts started later.
    /// </summary>
    public async Task SendAsync(string queue, RenderTask task)
    {
        var endpoint = await Host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(task);
    }

    public async Task StopAsync()
    {
        _stopped = true;
        await Host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await Host.StopAsync();
        }

        Host.Dispose();
    }
}

/// <summary>The events a test host received over the broker.</summary>
public sealed class RecordedEvents
{
    public ConcurrentQueue<object> Received { get; } = new();

    public IReadOnlyList<T> Of<T>(Func<T, bool> filter) => Received.OfType<T>().Where(filter).ToList();
}

public sealed class EventRecorder(RecordedEvents events) :
    IConsumer<RenderTaskSucceeded>, IConsumer<RenderTaskFailed>, IConsumer<WorkerHeartbeat>
{
    public Task Consume(ConsumeContext<RenderTaskSucceeded> context) => Record(context.Message);

    public Task Consume(ConsumeContext<RenderTaskFailed> context) => Record(context.Message);

    public Task Consume(ConsumeContext<WorkerHeartbeat> context) => Record(context.Message);

    private Task Record(object message)
    {
        events.Received.Enqueue(message);
        return Task.CompletedTask;
    }
}
