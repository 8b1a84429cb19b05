namespace Seg.Pipeline.Runtime;

/// <summary>Which ONNX Runtime execution provider runs the pipeline's sessions.</summary>
public enum ExecutionProviderKind
{
    /// <summary>The CPU provider, always available.</summary>
    Cpu,

    /// <summary>NVIDIA CUDA on one GPU, chosen by <see cref="ExecutionProviderOptions.DeviceId"/>.</summary>
    Cuda,
}

/// <summary>
/// Execution provider settings for one pipeline (one pipeline per GPU in a worker).
/// </summary>
/// <param name="Kind">CPU or CUDA.</param>
/// <param name="DeviceId">CUDA device ordinal; ignored on the CPU.</param>
/// <param name="AllowCpuFallback">When CUDA cannot be loaded, run on the CPU instead of failing.</param>
/// <param name="IntraOpThreads">Threads per operator; 0 lets ONNX Runtime choose.</param>
public sealed record ExecutionProviderOptions(
    ExecutionProviderKind Kind = ExecutionProviderKind.Cpu,
    int DeviceId = 0,
    bool AllowCpuFallback = false,
    int IntraOpThreads = 0)
{
    /// <summary>CUDA provider settings (convolution search, arena, CUDA graphs); ignored on the CPU.</summary>
    public CudaProviderSettings CudaSettings { get; init; } = new();

    /// <summary>The CPU provider with default threading.</summary>
    public static ExecutionProviderOptions Cpu { get; } = new();

    /// <summary>CUDA on the given device, failing if it cannot be loaded.</summary>
    public static ExecutionProviderOptions Cuda(int deviceId, bool allowCpuFallback = false) =>
        new(ExecutionProviderKind.Cuda, deviceId, allowCpuFallback);

    /// <summary>
    /// Parses a device string: <c>cpu</c>, <c>cuda</c> (device 0) or <c>cuda:N</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The text is none of these forms.</exception>
    public static ExecutionProviderOptions Parse(string device, bool allowCpuFallback = false)
    {
        ArgumentNullException.ThrowIfNull(device);
        var text = device.Trim().ToLowerInvariant();
        if (text == "cpu")
        {
            return Cpu with { AllowCpuFallback = allowCpuFallback };
        }
        if (text == "cuda")
        {
            return Cuda(0, allowCpuFallback);
        }
        if (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return Cuda(id, allowCpuFallback);
        }
        throw new ArgumentException($"device must be 'cpu', 'cuda' or 'cuda:<id>' with id >= 0 (got '{device}')", nameof(device));
    }

    /// <summary>The device as text: <c>cpu</c> or <c>cuda:N</c>.</summary>
    public override string ToString() => Kind == ExecutionProviderKind.Cpu ? "cpu" : $"cuda:{DeviceId}";
}
