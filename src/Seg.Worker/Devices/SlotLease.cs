namespace Seg.Worker.Devices;

/// <summary>The right to render on one slot until disposed; disposing gives the slot back to the pool.</summary>
public sealed class SlotLease : IDisposable
{
    private readonly Action<DeviceSlot> _release;
    private int _released;

    internal SlotLease(DeviceSlot slot, TimeSpan waited, Action<DeviceSlot> release)
    {
        Slot = slot;
        Waited = waited;
        _release = release;
    }

    /// <summary>The leased slot.</summary>
    public DeviceSlot Slot { get; }

    /// <summary>How long the caller waited for a free slot.</summary>
    public TimeSpan Waited { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _release(Slot);
        }
    }
}
