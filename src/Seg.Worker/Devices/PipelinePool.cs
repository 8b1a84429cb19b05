using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Seg.Pipeline.Runtime;

namespace Seg.Worker.Devices;

/// <summary>
/// The worker's render slots: one per CUDA device, or <see cref="WorkerOptions.CpuSlots"/> for <c>cpu</c>. A task
/// leases a slot for its render, so the number of concurrent renders never exceeds the number of slots.
/// </summary>
public sealed partial class PipelinePool : IDisposable
{
    private readonly Channel<DeviceSlot> _free;
    private readonly ILogger<PipelinePool> _logger;
    private int _busy;
    private readonly int[] _slotBusy;

    /// <summary>Creates the slots from the options (no model is loaded yet).</summary>
    /// <param name="options">Worker options.</param>
    /// <param name="logger">Logger.</param>
    public PipelinePool(IOptions<WorkerOptions> options, ILogger<PipelinePool> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _logger = logger;
        var patchCache = Path.Combine(settings.CacheFolder, "patched-unet");
        var slots = new List<DeviceSlot>();
        foreach (var device in settings.ResolvedDevices)
        {
            var provider = ExecutionProviderOptions.Parse(device, settings.AllowCpuFallback) with { CudaSettings = settings.Cuda };
            if (provider.Kind == ExecutionProviderKind.Cpu)
            {
                // CPU slots share the cores: split them so that parallel renders do not oversubscribe.
                var threads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, settings.CpuSlots));
                for (var i = 0; i < settings.CpuSlots; i++)
                {
                    slots.Add(new DeviceSlot(slots.Count, provider with { IntraOpThreads = threads }, patchCache, settings.MaxModelsPerSlot, logger));
                }
            }
            else
            {
                slots.Add(new DeviceSlot(slots.Count, provider, patchCache, settings.MaxModelsPerSlot, logger));
            }
        }

        Slots = slots;
        _slotBusy = new int[slots.Count];
        Devices = settings.ResolvedDevices;
        _free = Channel.CreateUnbounded<DeviceSlot>();
        foreach (var slot in slots)
        {
            _free.Writer.TryWrite(slot);
        }
    }

    /// <summary>Every slot, in device order.</summary>
    public IReadOnlyList<DeviceSlot> Slots { get; }

    /// <summary>The configured devices (<c>cuda:0</c>, <c>cpu</c>, ...).</summary>
    public IReadOnlyList<string> Devices { get; }

    /// <summary>Slots rendering now.</summary>
    public int BusySlots => Volatile.Read(ref _busy);

    /// <summary>Busy and total slots per device (<see cref="DeviceSlot.Device"/>), for the slot gauges.</summary>
    /// <returns>One entry per device, in device order.</returns>
    public IReadOnlyList<(string Device, int Busy, int Total)> SlotUsage() =>
        [.. Slots.GroupBy(s => s.Device).Select(g => (g.Key, g.Count(s => Volatile.Read(ref _slotBusy[s.Index]) == 1), g.Count()))];

    /// <summary>Names of the models loaded on any slot.</summary>
    public IReadOnlyList<string> ModelsCached => Slots.SelectMany(s => s.LoadedModels).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Checks every slot's execution provider (see <see cref="DeviceSlot.CheckProvider"/>), so that a worker
    /// configured for CUDA on a machine where CUDA cannot load stops at startup with a clear message.
    /// </summary>
    /// <exception cref="InvalidOperationException">A device cannot be used; the message names it and the settings to change.</exception>
    public void CheckDevices()
    {
        foreach (var slot in Slots.DistinctBy(s => s.Device))
        {
            try
            {
                slot.CheckProvider();
            }
            catch (ExecutionProviderUnavailableException e)
            {
                throw new InvalidOperationException(
                    $"Worker:Devices: device '{slot.Device}' cannot be used: {e.Message} " +
                    "Set Worker:Devices to cpu, or Worker:AllowCpuFallback=true to render on the CPU instead.", e);
            }
        }

        LogSlots(Slots.Count, string.Join(", ", Devices));
    }

    /// <summary>Waits for a free slot and leases it.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The lease; dispose it to give the slot back.</returns>
    public async ValueTask<SlotLease> LeaseAsync(CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var slot = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _busy);
        Volatile.Write(ref _slotBusy[slot.Index], 1);
        return new SlotLease(slot, watch.Elapsed, Release);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _free.Writer.TryComplete();
        foreach (var slot in Slots)
        {
            slot.Dispose();
        }
    }

    private void Release(DeviceSlot slot)
    {
        Interlocked.Decrement(ref _busy);
        Volatile.Write(ref _slotBusy[slot.Index], 0);
        _free.Writer.TryWrite(slot);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Render slots: {Slots} on {Devices}")]
    private partial void LogSlots(int slots, string devices);
}
