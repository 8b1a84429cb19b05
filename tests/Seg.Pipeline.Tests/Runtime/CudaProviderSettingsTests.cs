using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.Tests.Runtime;

/// <summary>The CUDA provider options the pipeline hands to ONNX Runtime (no GPU needed to check them).</summary>
public class CudaProviderSettingsTests
{
    [Fact]
    public void Defaults_search_convolutions_exhaustively_and_grow_the_arena_as_requested()
    {
        var options = new CudaProviderSettings().ToProviderOptions(0);
        Assert.Equal(new Dictionary<string, string>
        {
            ["device_id"] = "0",
            ["cudnn_conv_algo_search"] = "EXHAUSTIVE",
            ["arena_extend_strategy"] = "kSameAsRequested",
            ["do_copy_in_default_stream"] = "1",
            ["enable_cuda_graph"] = "0",
        }, options);
    }

    [Fact]
    public void Every_setting_reaches_its_option_and_the_device_id_is_the_slots()
    {
        var settings = new CudaProviderSettings
        {
            ConvAlgoSearch = CudnnConvAlgoSearch.Heuristic,
            ArenaExtendStrategy = ArenaExtendStrategy.NextPowerOfTwo,
            GpuMemoryLimitBytes = 20L << 30,
            EnableCudaGraph = true,
        };
        var options = settings.ToProviderOptions(3);
        Assert.Equal("3", options["device_id"]);
        Assert.Equal("HEURISTIC", options["cudnn_conv_algo_search"]);
        Assert.Equal("kNextPowerOfTwo", options["arena_extend_strategy"]);
        Assert.Equal("21474836480", options["gpu_mem_limit"]);
        Assert.Equal("1", options["enable_cuda_graph"]);
        Assert.Equal("DEFAULT", (settings with { ConvAlgoSearch = CudnnConvAlgoSearch.Default }).ToProviderOptions(0)["cudnn_conv_algo_search"]);
    }

    [Fact]
    public void Bad_values_name_the_setting()
    {
        var limit = Assert.Throws<ArgumentOutOfRangeException>(() => new CudaProviderSettings { GpuMemoryLimitBytes = -1 }.ToProviderOptions(0));
        Assert.Contains("Cuda:GpuMemoryLimitBytes must be >= 0 (got -1)", limit.Message);
        var search = Assert.Throws<ArgumentOutOfRangeException>(() => new CudaProviderSettings { ConvAlgoSearch = (CudnnConvAlgoSearch)7 }.ToProviderOptions(0));
        Assert.Contains("Cuda:ConvAlgoSearch", search.Message);
        var device = Assert.Throws<ArgumentOutOfRangeException>(() => new CudaProviderSettings().ToProviderOptions(-1));
        Assert.Contains("device id must be >= 0", device.Message);
    }

    [Fact]
    public void Parsed_devices_carry_default_settings_and_the_cpu_memory_is_the_default_instance()
    {
        var cuda = ExecutionProviderOptions.Parse("cuda:2");
        Assert.Equal(new CudaProviderSettings(), cuda.CudaSettings);
        Assert.Equal("2", cuda.CudaSettings.ToProviderOptions(cuda.DeviceId)["device_id"]);
        Assert.Same(Microsoft.ML.OnnxRuntime.OrtMemoryInfo.DefaultInstance, new OnnxSessionFactory(ExecutionProviderOptions.Cpu).DeviceMemory());
    }
}
