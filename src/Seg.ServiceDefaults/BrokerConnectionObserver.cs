using System.Collections.Concurrent;
using MassTransit;

namespace Seg.ServiceDefaults;

/// <summary>
/// Counts broker reconnects as <c>seg.broker.reconnects</c>: a receive endpoint that becomes ready again after its first
/// start has lost its connection (or channel) to RabbitMQ and got it back. MassTransit's own meter counts messages,
/// not connections, hence this small observer.
/// </summary>
public sealed class BrokerConnectionObserver : IReceiveEndpointObserver, IBusObserver
{
    private readonly ConcurrentDictionary<Uri, byte> _started = new();
    private long _reconnects;

    /// <summary>
    /// Creates the observer and its counter, observed at each collection so that its series exists (at 0) before the
    /// first reconnect, however early the bus starts compared with the meter provider.
    /// </summary>
    public BrokerConnectionObserver() =>
        SegTelemetry.Meter.CreateObservableCounter("seg.broker.reconnects", () => Interlocked.Read(ref _reconnects), "{reconnect}",
            "Receive endpoints that became ready again after losing the broker");

    /// <inheritdoc />
    public void PostCreate(IBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        bus.ConnectReceiveEndpointObserver(this);
    }

    /// <inheritdoc />
    public void CreateFaulted(Exception exception)
    {
    }

    /// <inheritdoc />
    public Task PreStart(IBus bus) => Task.CompletedTask;

    /// <inheritdoc />
    public Task PostStart(IBus bus, Task<BusReady> busReady) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    /// <inheritdoc />
    public Task PreStop(IBus bus) => Task.CompletedTask;

    /// <inheritdoc />
    public Task PostStop(IBus bus) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    /// <inheritdoc />
    public Task Ready(ReceiveEndpointReady ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!_started.TryAdd(ready.InputAddress, 0))
        {
            Interlocked.Increment(ref _reconnects);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    /// <inheritdoc />
    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    /// <inheritdoc />
    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
}
