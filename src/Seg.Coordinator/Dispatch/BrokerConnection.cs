using MassTransit;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// Follows the coordinator's receive endpoints (MassTransit's <see cref="IReceiveEndpointObserver"/>) to tell the
/// dispatcher when the broker connection came back: an endpoint that is ready again after its first start means the
/// connection (or the broker) was lost and restored, and a broker restarted without its data has lost every message
/// that was queued, so the dispatcher sends the queued tasks again at once instead of after
/// <see cref="CoordinatorOptions.ResendQueuedAfterSeconds"/>. It also tells since when the connection has been up:
/// heartbeats are received over it, so a worker is judged stale only once they could have arrived.
/// </summary>
/// <param name="signal">Wakes the dispatcher on a reconnection.</param>
/// <param name="time">Clock.</param>
public sealed class BrokerConnection(DispatchSignal signal, TimeProvider time) : IReceiveEndpointObserver
{

    private readonly Lock _lock = new();
    private readonly HashSet<Uri> _started = [];
    private DateTimeOffset? _connectedSince;
    private DateTimeOffset? _reconnectedAt;

    /// <summary>Since when every endpoint has been receiving; null while the connection is down or before the first start.</summary>
    public DateTimeOffset? ConnectedSince
    {
        get
        {
            lock (_lock)
            {
                return _connectedSince;
            }
        }
    }

    /// <summary>When the connection last came back, if the dispatcher has not taken that news yet; taking it clears it.</summary>
    /// <returns>The time of the reconnection, or null.</returns>
    public DateTimeOffset? TakeReconnection()
    {
        lock (_lock)
        {
            var at = _reconnectedAt;
            _reconnectedAt = null;
            return at;
        }
    }

    /// <inheritdoc />
    public Task Ready(ReceiveEndpointReady ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!ready.IsStarted)
        {
            // "Ready" of an endpoint that does not start by itself (the bus's temporary endpoint): nothing is received.
            return Task.CompletedTask;
        }

        var now = time.GetUtcNow();
        bool reconnected;
        lock (_lock)
        {
            reconnected = !_started.Add(ready.InputAddress);
            if (reconnected || _connectedSince is null)
            {
                // Heartbeats sent while it was down were not received: count from now.
                _connectedSince = now;
            }

            if (reconnected)
            {
                _reconnectedAt = now;
            }
        }

        if (reconnected)
        {
            signal.Notify();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        lock (_lock)
        {
            _connectedSince = null;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    /// <inheritdoc />
    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;
}
