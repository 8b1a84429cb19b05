using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Seg.Pipeline.Runtime;
using Seg.Worker.Devices;

namespace Seg.Worker.Tests;

/// <summary>The CUDA provider settings reach every CUDA slot from the <c>Worker:Cuda</c> configuration section.</summary>
public sealed class CudaSettingsBindingTests
{
    [Fact]
    public void Worker_cuda_settings_bind_from_configuration_onto_every_cuda_slot()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:Devices:0"] = "cuda:0",
            ["Worker:Devices:1"] = "cuda:2",
            ["Worker:Cuda:ConvAlgoSearch"] = "Heuristic",
            ["Worker:Cuda:ArenaExtendStrategy"] = "NextPowerOfTwo",
            ["Worker:Cuda:GpuMemoryLimitBytes"] = "8589934592",
            ["Worker:Cuda:EnableCudaGraph"] = "true",
        }).Build();
        var options = configuration.GetSection(WorkerOptions.Section).Get<WorkerOptions>()! with
        {
            CacheFolder = Path.Combine(Path.GetTempPath(), $"seg-worker-cuda-{Guid.NewGuid():N}"),
        };

        using var pool = new PipelinePool(Options.Create(options), NullLogger<PipelinePool>.Instance);

        Assert.Equal(2, pool.Slots.Count);
        Assert.All(pool.Slots, slot => Assert.Equal(options.Cuda, slot.Provider.CudaSettings));
        var provider = pool.Slots[1].Provider;
        var strings = provider.CudaSettings.ToProviderOptions(provider.DeviceId);
        Assert.Equal("2", strings["device_id"]);
        Assert.Equal("HEURISTIC", strings["cudnn_conv_algo_search"]);
        Assert.Equal("kNextPowerOfTwo", strings["arena_extend_strategy"]);
        Assert.Equal("8589934592", strings["gpu_mem_limit"]);
        Assert.Equal("1", strings["enable_cuda_graph"]);
    }

    [Fact]
    public void Without_a_cuda_section_the_defaults_apply()
    {
        Assert.Equal(new CudaProviderSettings(), new WorkerOptions().Cuda);
    }
}
