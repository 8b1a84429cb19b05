using System.Globalization;

namespace Seg.Pipeline.Runtime;

/// <summary>How cuDNN picks convolution algorithms (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvAlgoSearch
{
    /// <summary>Benchmark every algorithm on the first run of each shape and keep the fastest.</summary>
    Exhaustive,

    /// <summary>cuDNN's heuristics, no benchmarking: faster first runs, maybe slower steady state.</summary>
    Heuristic,

    /// <summary>cuDNN's default algorithm, for reproducing issues.</summary>
    Default,
}

/// <summary>How ONNX Runtime's CUDA memory arena grows (<c>arena_extend_strategy</c>).</summary>
public enum ArenaExtendStrategy
{
    /// <summary>Grow by exactly what is asked for: no doubling past the need of a 10 GB model.</summary>
    SameAsRequested,

    /// <summary>Grow in powers of two (ONNX Runtime's default; fewer, larger allocations).</summary>
    NextPowerOfTwo,
}

/// <summary>
/// CUDA execution provider settings that matter for an SDXL UNet, bound from configuration (the worker's
/// <c>Worker:Cuda</c> section) and turned into ONNX Runtime's provider option strings by <see cref="ToProviderOptions"/>.
/// </summary>
public sealed record CudaProviderSettings
{
    /// <summary>
    /// Convolution algorithm search. Default <see cref="CudnnConvAlgoSearch.Exhaustive"/>: a sweep renders many images
    /// at one size, so the one-off search per shape pays for itself; pick Heuristic for many one-off sizes.
    /// </summary>
    public CudnnConvAlgoSearch ConvAlgoSearch { get; init; } = CudnnConvAlgoSearch.Exhaustive;

    /// <summary>Arena growth. Default <see cref="ArenaExtendStrategy.SameAsRequested"/>, so SDXL's weights and activations do not round up to the next power of two.</summary>
    public ArenaExtendStrategy ArenaExtendStrategy { get; init; } = ArenaExtendStrategy.SameAsRequested;

    /// <summary>Upper bound of the arena in bytes; 0 leaves it to the device's memory.</summary>
    public long GpuMemoryLimitBytes { get; init; }

    /// <summary>
    /// Capture the UNet call as a CUDA graph and replay it. Only where shapes allow: every call of the session must have
    /// the same shapes (one size, one batch layout, no SEG window), and every node must run on CUDA. Off by default.
    /// </summary>
    public bool EnableCudaGraph { get; init; }

    /// <summary>ONNX Runtime's CUDA provider options for <paramref name="deviceId"/>, as the strings it takes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is outside its range, named in the message.</exception>
    public IReadOnlyDictionary<string, string> ToProviderOptions(int deviceId)
    {
        if (deviceId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(deviceId), $"device id must be >= 0 (got {deviceId})");
        }
        if (GpuMemoryLimitBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(GpuMemoryLimitBytes), $"Cuda:GpuMemoryLimitBytes must be >= 0 (got {GpuMemoryLimitBytes})");
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
            ["cudnn_conv_algo_search"] = ConvAlgoSearch switch
            {
                CudnnConvAlgoSearch.Exhaustive => "EXHAUSTIVE",
                CudnnConvAlgoSearch.Heuristic => "HEURISTIC",
                CudnnConvAlgoSearch.Default => "DEFAULT",
                _ => throw new ArgumentOutOfRangeException(nameof(ConvAlgoSearch), ConvAlgoSearch, "Cuda:ConvAlgoSearch must be Exhaustive, Heuristic or Default"),
            },
            ["arena_extend_strategy"] = ArenaExtendStrategy switch
            {
                ArenaExtendStrategy.SameAsRequested => "kSameAsRequested",
                ArenaExtendStrategy.NextPowerOfTwo => "kNextPowerOfTwo",
                _ => throw new ArgumentOutOfRangeException(nameof(ArenaExtendStrategy), ArenaExtendStrategy, "Cuda:ArenaExtendStrategy must be SameAsRequested or NextPowerOfTwo"),
            },
            // Copies on the compute stream: bound inputs are ready when the UNet's kernels start.
            ["do_copy_in_default_stream"] = "1",
            ["enable_cuda_graph"] = EnableCudaGraph ? "1" : "0",
        };
        if (GpuMemoryLimitBytes > 0)
        {
            options["gpu_mem_limit"] = GpuMemoryLimitBytes.ToString(CultureInfo.InvariantCulture);
        }
        return options;
    }
}
