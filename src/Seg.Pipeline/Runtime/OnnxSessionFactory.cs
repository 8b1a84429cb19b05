using Microsoft.ML.OnnxRuntime;

namespace Seg.Pipeline.Runtime;

/// <summary>
/// Creates ONNX Runtime sessions on the configured execution provider, and reports which provider each
/// session actually got (it differs from the request after an allowed CPU fallback).
/// </summary>
public sealed class OnnxSessionFactory
{
    private readonly Action<string>? _warn;

    /// <summary>Creates a factory for the given provider settings.</summary>
    /// <param name="options">Provider, device and fallback settings.</param>
    /// <param name="warn">Receives a warning when the factory falls back to the CPU.</param>
    public OnnxSessionFactory(ExecutionProviderOptions options, Action<string>? warn = null)
    {
        if (options.DeviceId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"device id must be >= 0 (got {options.DeviceId})");
        }
        Options = options;
        _warn = warn;
        ActiveProvider = options.Kind;
    }

    /// <summary>The requested settings.</summary>
    public ExecutionProviderOptions Options { get; }

    /// <summary>The provider the sessions run on: CUDA, or CPU after a fallback.</summary>
    public ExecutionProviderKind ActiveProvider { get; private set; }

    /// <summary>ONNX Runtime's provider name for provenance, e.g. <c>CUDAExecutionProvider</c>.</summary>
    public string ActiveProviderName =>
        ActiveProvider == ExecutionProviderKind.Cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";

    /// <summary>The ONNX Runtime version string.</summary>
    public static string OnnxRuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>Builds the session options for the active provider. The caller owns the result.</summary>
    /// <exception cref="ExecutionProviderUnavailableException">CUDA cannot be loaded and no fallback is allowed.</exception>
    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (Options.IntraOpThreads > 0)
        {
            options.IntraOpNumThreads = Options.IntraOpThreads;
        }
        if (ActiveProvider == ExecutionProviderKind.Cuda)
        {
            var providerOptions = Options.CudaSettings.ToProviderOptions(Options.DeviceId);
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>(providerOptions));
                options.AppendExecutionProvider_CUDA(cuda);
            }
            catch (OnnxRuntimeException ex)
            {
                options.Dispose();
                if (!Options.AllowCpuFallback)
                {
                    throw new ExecutionProviderUnavailableException(
                        $"device: the CUDA execution provider could not be loaded for device {Options.DeviceId} " +
                        $"({ex.Message.Trim()}). This build needs an NVIDIA driver with CUDA 13 and cuDNN 9 libraries " +
                        "on the library path. Use --device cpu, or allow the CPU fallback explicitly.", ex);
                }
                _warn?.Invoke(
                    $"CUDA execution provider unavailable for device {Options.DeviceId} ({ex.Message.Trim()}); " +
                    "falling back to the CPU as allowed.");
                ActiveProvider = ExecutionProviderKind.Cpu;
                return CreateSessionOptions();
            }
        }
        return options;
    }

    /// <summary>Where bound tensors live for the active provider: the CUDA device's memory, or the CPU's.</summary>
    public OrtMemoryInfo DeviceMemory() => ActiveProvider == ExecutionProviderKind.Cuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Options.DeviceId, OrtMemType.Default)
        : OrtMemoryInfo.DefaultInstance;

    /// <summary>Opens a session for a model given as bytes on the active provider.</summary>
    public InferenceSession CreateSession(byte[] model)
    {
        using var options = CreateSessionOptions();
        return new InferenceSession(model, options);
    }

    /// <summary>
    /// Opens a session for a model file on the active provider. <paramref name="externalDataFolder"/> names the
    /// folder that holds the model's external weight files when it is not the model's own (a patched graph
    /// kept in a cache whose weights stay beside the original UNet).
    /// </summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="externalDataFolder">Folder of its external weights when not beside it.</param>
    /// <param name="configure">Changes to the session options (benchmarks: profiling, optimisation level).</param>
    public InferenceSession CreateSession(string modelPath, string? externalDataFolder = null, Action<SessionOptions>? configure = null)
    {
        using var options = CreateSessionOptions();
        configure?.Invoke(options);
        if (externalDataFolder is null)
        {
            return new InferenceSession(modelPath, options);
        }
        // ONNX Runtime resolves external data of a model given as bytes against this folder.
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", externalDataFolder);
        return new InferenceSession(File.ReadAllBytes(modelPath), options);
    }
}
