using Microsoft.Extensions.Logging;
using Seg.Pipeline;
using Seg.Pipeline.Runtime;

namespace Seg.Worker.Devices;

/// <summary>
/// One render slot: a device (a CUDA GPU, or a share of the CPU) with the pipelines loaded on it, one per model
/// folder (each pipeline caches its SEG-patched UNets per layer set). Only the holder of a <see cref="SlotLease"/>
/// renders on a slot, so a slot runs one task at a time.
/// </summary>
public sealed partial class DeviceSlot : IDisposable
{
    private readonly string _patchCacheFolder;
    private readonly int _maxModels;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    // Most recently used last.
    private readonly List<(string Key, string ModelName, SdxlPipeline Pipeline)> _pipelines = [];

    internal DeviceSlot(int index, ExecutionProviderOptions provider, string patchCacheFolder, int maxModels, ILogger logger)
    {
        Index = index;
        Provider = provider;
        _patchCacheFolder = patchCacheFolder;
        _maxModels = maxModels;
        _logger = logger;
    }

    /// <summary>Position of the slot in the pool.</summary>
    public int Index { get; }

    /// <summary>The execution provider settings of the slot.</summary>
    public ExecutionProviderOptions Provider { get; }

    /// <summary>The configured device: <c>cuda:N</c> or <c>cpu</c>.</summary>
    public string Device => Provider.ToString();

    /// <summary>Names of the models loaded on this slot, as tasks name them.</summary>
    public IReadOnlyList<string> LoadedModels
    {
        get
        {
            lock (_lock)
            {
                return _pipelines.Select(p => p.ModelName).ToList();
            }
        }
    }

    /// <summary>
    /// Checks that the slot's execution provider loads, without a model: for CUDA without a fallback this fails
    /// at once on a machine without a usable GPU, instead of at the first task.
    /// </summary>
    /// <exception cref="ExecutionProviderUnavailableException">The provider cannot be loaded and no fallback is allowed.</exception>
    public void CheckProvider()
    {
        var factory = new OnnxSessionFactory(Provider, message => LogDeviceWarning(Device, message));
        using var options = factory.CreateSessionOptions();
    }

    /// <summary>
    /// The pipeline for a model folder on this slot, loaded on first use; beyond the slot's model limit the least
    /// recently used pipeline is unloaded. Call only while holding the slot's lease.
    /// </summary>
    /// <param name="modelName">The model's name as tasks give it (reported in heartbeats).</param>
    /// <param name="modelFolder">The resolved model folder.</param>
    /// <param name="vaeFolder">A separate VAE decoder folder, or null.</param>
    /// <param name="loaded">True when this call loaded the pipeline.</param>
    /// <returns>The pipeline.</returns>
    public SdxlPipeline GetPipeline(string modelName, string modelFolder, string? vaeFolder, out bool loaded)
    {
        var key = vaeFolder is null ? modelFolder : $"{modelFolder}|{vaeFolder}";
        lock (_lock)
        {
            var index = _pipelines.FindIndex(p => p.Key == key);
            if (index >= 0)
            {
                var entry = _pipelines[index];
                _pipelines.RemoveAt(index);
                _pipelines.Add(entry);
                loaded = false;
                return entry.Pipeline;
            }
        }

        // Loading takes long (sessions on the device); the lease keeps other tasks off this slot meanwhile.
        var pipeline = SdxlPipeline.Load(modelFolder, new PipelineOptions
        {
            ExecutionProvider = Provider,
            VaeFolder = vaeFolder,
            PatchCacheFolder = _patchCacheFolder,
            Warning = message => LogDeviceWarning(Device, message),
        });
        List<SdxlPipeline> evicted;
        lock (_lock)
        {
            _pipelines.Add((key, modelName, pipeline));
            evicted = [];
            while (_pipelines.Count > _maxModels)
            {
                evicted.Add(_pipelines[0].Pipeline);
                _pipelines.RemoveAt(0);
            }
        }

        foreach (var old in evicted)
        {
            LogUnloading(Device, old.Model.Name, _maxModels);
            old.Dispose();
        }

        loaded = true;
        return pipeline;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var entry in _pipelines)
            {
                entry.Pipeline.Dispose();
            }

            _pipelines.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Device}: {Warning}")]
    private partial void LogDeviceWarning(string device, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Device}: unloading model {Model} (Worker:MaxModelsPerSlot {Max})")]
    private partial void LogUnloading(string device, string model, int max);
}
