using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.TinyModel;
using Seg.Worker.Devices;
using Seg.Worker.Models;
using Seg.Worker.Rendering;

namespace Seg.Worker.Tests;

/// <summary>Slots, device checks, options, model resolution and model hashes (no services needed).</summary>
public sealed class PipelinePoolTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"seg-worker-pool-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public void Cuda_devices_get_one_slot_each_in_order()
    {
        using var pool = Pool(new WorkerOptions { Devices = ["cuda:0", "cuda:1", "cuda:3"] });

        Assert.Equal(["cuda:0", "cuda:1", "cuda:3"], pool.Slots.Select(s => s.Device));
        Assert.Equal([0, 1, 3], pool.Slots.Select(s => s.Provider.DeviceId));
        Assert.All(pool.Slots, s => Assert.Equal(ExecutionProviderKind.Cuda, s.Provider.Kind));
        Assert.Equal(["cuda:0", "cuda:1", "cuda:3"], pool.Devices);
        Assert.Equal(3, new WorkerOptions { Devices = ["cuda:0", "cuda:1", "cuda:3"] }.SlotCount);
    }

    [Fact]
    public void Cpu_gets_cpu_slots_slots_that_share_the_cores()
    {
        var options = new WorkerOptions { Devices = ["cpu"], CpuSlots = 2 };
        using var pool = Pool(options);

        Assert.Equal(["cpu", "cpu"], pool.Slots.Select(s => s.Device));
        Assert.All(pool.Slots, s => Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), s.Provider.IntraOpThreads));
        Assert.Equal(2, options.SlotCount);
        Assert.Equal(["cpu"], new WorkerOptions().ResolvedDevices);
        Assert.Equal(1, new WorkerOptions().SlotCount);
    }

    [Fact]
    public async Task A_slot_is_leased_by_one_task_at_a_time()
    {
        using var pool = Pool(new WorkerOptions { Devices = ["cpu"], CpuSlots = 2 });

        var first = await pool.LeaseAsync(CancellationToken.None);
        var second = await pool.LeaseAsync(CancellationToken.None);
        Assert.NotSame(first.Slot, second.Slot);
        Assert.Equal(2, pool.BusySlots);

        var third = pool.LeaseAsync(CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(third.IsCompleted);

        second.Dispose();
        second.Dispose(); // a second dispose must not free the slot twice
        var lease = await third.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Same(second.Slot, lease.Slot);
        Assert.Equal(2, pool.BusySlots);

        using var cancelled = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.LeaseAsync(cancelled.Token).AsTask());
        first.Dispose();
        lease.Dispose();
        Assert.Equal(0, pool.BusySlots);
    }

    [Fact]
    public void Cuda_without_fallback_on_a_machine_without_cuda_is_a_clear_startup_error()
    {
        using var pool = Pool(new WorkerOptions { Devices = ["cuda:0"] });

        var error = Assert.Throws<InvalidOperationException>(pool.CheckDevices);

        Assert.StartsWith("Worker:Devices: device 'cuda:0' cannot be used:", error.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA execution provider could not be loaded", error.Message, StringComparison.Ordinal);
        Assert.Contains("Worker:AllowCpuFallback=true", error.Message, StringComparison.Ordinal);
        Assert.IsType<ExecutionProviderUnavailableException>(error.InnerException);
    }

    [Fact]
    public void Cuda_with_the_cpu_fallback_allowed_passes_the_device_check()
    {
        using var pool = Pool(new WorkerOptions { Devices = ["cuda:0"], AllowCpuFallback = true });

        pool.CheckDevices();

        Assert.True(Assert.Single(pool.Slots).Provider.AllowCpuFallback);
    }

    [Fact]
    public void A_slot_renders_on_the_cpu_after_an_allowed_cuda_fallback_and_keeps_its_model_loaded()
    {
        var tiny = TinyModelCache.GetOrCreate(Path.Combine(_root, "models"), new TinyModelOptions());
        using var pool = Pool(new WorkerOptions { Devices = ["cuda:0"], AllowCpuFallback = true, CacheFolder = _root });
        var slot = Assert.Single(pool.Slots);

        var pipeline = slot.GetPipeline("tiny", tiny, null, out var loaded);
        var again = slot.GetPipeline("tiny", tiny, null, out var loadedAgain);

        Assert.True(loaded);
        Assert.False(loadedAgain);
        Assert.Same(pipeline, again);
        Assert.Equal(("cpu", "CPUExecutionProvider"), (pipeline.Device, pipeline.ExecutionProvider));
        Assert.Equal(["tiny"], pool.ModelsCached);
    }

    [Fact]
    public void A_slot_unloads_its_least_recently_used_model_beyond_the_limit()
    {
        var first = TinyModelCache.GetOrCreate(Path.Combine(_root, "models"), new TinyModelOptions());
        var second = TinyModelCache.GetOrCreate(Path.Combine(_root, "models"), new TinyModelOptions(Seed: 99));
        using var pool = Pool(new WorkerOptions { MaxModelsPerSlot = 1, CacheFolder = _root });
        var slot = Assert.Single(pool.Slots);

        slot.GetPipeline("first", first, null, out _);
        slot.GetPipeline("second", second, null, out _);
        Assert.Equal(["second"], slot.LoadedModels);
        slot.GetPipeline("first", first, null, out var reloaded);

        Assert.True(reloaded);
        Assert.Equal(["first"], slot.LoadedModels);
    }

    [Fact]
    public void The_worker_id_defaults_to_host_and_process_id()
    {
        Assert.Equal($"{Environment.MachineName}-{Environment.ProcessId}", new WorkerOptions().ResolvedWorkerId);
        Assert.Equal("gpu-node-7", new WorkerOptions { WorkerId = " gpu-node-7 " }.ResolvedWorkerId);
        Assert.Equal("pipeline", new WorkerOptions().RenderModeName);
        Assert.Equal(RenderMode.Pipeline, new WorkerOptions().RenderMode);
    }

    [Fact]
    public void Model_names_resolve_under_the_model_root_and_tiny_to_the_tiny_model()
    {
        Directory.CreateDirectory(Path.Combine(_root, "models-root", "sdxl-base"));
        var resolver = new ModelResolver(Options.Create(new WorkerOptions
        {
            ModelRoot = Path.Combine(_root, "models-root"),
            CacheFolder = Path.Combine(_root, "cache"),
            WorkerId = "w1",
        }));

        Assert.Equal(Path.Combine(_root, "models-root", "sdxl-base"), resolver.ResolveModel("sdxl-base"));
        var tiny = resolver.ResolveModel("tiny");
        Assert.StartsWith(Path.Combine(_root, "cache", "models"), tiny, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(tiny, "unet", "model.onnx")));
        Assert.Null(resolver.ResolveVae(null));

        var missing = Assert.Throws<PermanentTaskFailureException>(() => resolver.ResolveModel("sdxl-turbo"));
        // The reason reaches the database: it names the model and the setting, never a host path.
        Assert.Equal("model 'sdxl-turbo' not found on worker w1: no such folder under Worker:ModelRoot", missing.Message);
        Assert.DoesNotContain(_root, missing.Message, StringComparison.Ordinal);
        Assert.Equal("model must name a folder under the model root: no '..' segment and no absolute path (got '/etc', an absolute path; " +
                     "AllowAbsoluteModelPaths is off)", Assert.Throws<PermanentTaskFailureException>(() => resolver.ResolveModel("/etc")).Message);
        Assert.StartsWith("vae must name a folder under the model root: no '..' segment",
            Assert.Throws<PermanentTaskFailureException>(() => resolver.ResolveVae("../cache")).Message, StringComparison.Ordinal);
        Assert.StartsWith("model must name a folder under the model root: no '..' segment",
            Assert.Throws<PermanentTaskFailureException>(() => resolver.ResolveModel("sdxl-base/../../x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Absolute_model_paths_resolve_only_when_the_worker_allows_them()
    {
        var outside = Path.Combine(_root, "elsewhere", "sdxl-base");
        Directory.CreateDirectory(outside);
        WorkerOptions Options(bool allow) => new()
        {
            ModelRoot = Path.Combine(_root, "models-root"),
            CacheFolder = Path.Combine(_root, "cache"),
            WorkerId = "w1",
            AllowAbsoluteModelPaths = allow,
        };

        Assert.Throws<PermanentTaskFailureException>(() => new ModelResolver(Microsoft.Extensions.Options.Options.Create(Options(false))).ResolveModel(outside));
        Assert.Equal(outside, new ModelResolver(Microsoft.Extensions.Options.Options.Create(Options(true))).ResolveModel(outside));
        Assert.StartsWith("model must name a folder under the model root: no '..' segment",
            Assert.Throws<PermanentTaskFailureException>(() => new ModelResolver(Microsoft.Extensions.Options.Options.Create(Options(true)))
                .ResolveModel(outside + "/../sdxl-base")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Model_hashes_cover_every_graph_and_its_external_data()
    {
        var folder = TinyModelCache.GetOrCreate(Path.Combine(_root, "models"), new TinyModelOptions(ExternalUNetData: true));
        var hasher = new ModelFileHasher(Path.Combine(_root, "hash-cache"));

        var hashes = await hasher.GetAsync(folder, CancellationToken.None);

        var graphs = Directory.GetFiles(folder, "*.onnx", SearchOption.AllDirectories);
        Assert.Equal(4, graphs.Length);
        foreach (var graph in graphs.Append(Path.Combine(folder, "unet", "model.onnx_data")))
        {
            var key = Path.GetRelativePath(folder, graph).Replace(Path.DirectorySeparatorChar, '/');
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(graph))), hashes[key]);
        }

        Assert.DoesNotContain(hashes.Keys, k => k.StartsWith("tokenizer", StringComparison.Ordinal) || k.StartsWith("scheduler", StringComparison.Ordinal));
        Assert.Same(hashes, await hasher.GetAsync(folder, CancellationToken.None));
    }

    [Fact]
    public async Task Model_hashes_are_kept_per_file_by_path_size_and_modification_time_across_restarts()
    {
        var folder = TinyModelCache.GetOrCreate(Path.Combine(_root, "models"), new TinyModelOptions(ExternalUNetData: true));
        var cache = Path.Combine(_root, "worker-cache");
        var options = Options.Create(new WorkerOptions { CacheFolder = cache });
        var first = await new ModelFileHasher(options).GetAsync(folder, CancellationToken.None);
        Assert.Equal(first.Count, Directory.GetFiles(Path.Combine(cache, ModelFileHasher.CacheFolderName), "*.json").Length);

        // The same size and modification time: a restarted worker (a new hasher) takes the cached hash without reading.
        var data = Path.Combine(folder, "unet", "model.onnx_data");
        var original = File.ReadAllBytes(data);
        var modified = File.GetLastWriteTimeUtc(data);
        var changed = (byte[])original.Clone();
        changed[0] ^= 0xff;
        File.WriteAllBytes(data, changed);
        File.SetLastWriteTimeUtc(data, modified);
        Assert.Equal(first["unet/model.onnx_data"], (await new ModelFileHasher(options).GetAsync(folder, CancellationToken.None))["unet/model.onnx_data"]);

        // A new modification time: hashed again.
        File.SetLastWriteTimeUtc(data, modified.AddSeconds(1));
        var rehashed = await new ModelFileHasher(options).GetAsync(folder, CancellationToken.None);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(changed)), rehashed["unet/model.onnx_data"]);
        Assert.Equal(first.Where(h => h.Key != "unet/model.onnx_data"), rehashed.Where(h => h.Key != "unet/model.onnx_data"));

        // A new size with the time put back: hashed again too.
        File.WriteAllBytes(data, [.. original, 0]);
        File.SetLastWriteTimeUtc(data, modified);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([.. original, (byte)0])),
            (await new ModelFileHasher(options).GetAsync(folder, CancellationToken.None))["unet/model.onnx_data"]);
    }

    private PipelinePool Pool(WorkerOptions options)
    {
        if (options.CacheFolder == new WorkerOptions().CacheFolder)
        {
            options = options with { CacheFolder = _root };
        }

        return new PipelinePool(Options.Create(options), NullLogger<PipelinePool>.Instance);
    }
}
