using System.CommandLine;
using Seg.Pipeline;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.TinyModel;

namespace Seg.Cli.Commands;

/// <summary>Options shared by the commands that open a model.</summary>
internal static class CliOptions
{
    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "SDXL model folder in the Optimum/diffusers ONNX layout. Default: the tiny test model, generated on first use.",
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "Execution provider: cpu, cuda or cuda:<id>.",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<bool> AllowCpuFallback() => new("--allow-cpu-fallback")
    {
        Description = "Run on the CPU when CUDA cannot be loaded, instead of failing.",
    };

    public static Option<string?> ApiKey() => new("--api-key")
    {
        Description = $"API key for the farm's coordinator (default: the {Farm.FarmClient.ApiKeyVariable} environment variable).",
    };

    /// <summary>The model folder to use: the given one, or the tiny model in the cache (written on first use).</summary>
    public static string ResolveModel(string? model)
    {
        if (!string.IsNullOrWhiteSpace(model) && model != TinyModelCache.ModelName)
        {
            return model;
        }
        return TinyModelCache.GetOrCreate(PipelineOptions.DefaultCacheFolder("models"), new TinyModelOptions());
    }

    public static ExecutionProviderOptions ResolveDevice(string device, bool allowFallback) =>
        ExecutionProviderOptions.Parse(device, allowFallback);
}
