using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.Tests.Runtime;

public class ExecutionProviderTests
{
    [Theory]
    [InlineData("cpu", ExecutionProviderKind.Cpu, 0)]
    [InlineData("CUDA", ExecutionProviderKind.Cuda, 0)]
    [InlineData("cuda:3", ExecutionProviderKind.Cuda, 3)]
    public void Parses_device_strings(string text, ExecutionProviderKind kind, int deviceId)
    {
        var options = ExecutionProviderOptions.Parse(text);
        Assert.Equal(kind, options.Kind);
        Assert.Equal(deviceId, options.DeviceId);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    public void Rejects_bad_device_strings_naming_the_field(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => ExecutionProviderOptions.Parse(text));
        Assert.StartsWith("device must be", error.Message);
    }

    [Fact]
    public void Cpu_sessions_report_the_cpu_provider()
    {
        var factory = new OnnxSessionFactory(ExecutionProviderOptions.Cpu);
        using var options = factory.CreateSessionOptions();
        Assert.Equal("CPUExecutionProvider", factory.ActiveProviderName);
        Assert.False(string.IsNullOrEmpty(OnnxSessionFactory.OnnxRuntimeVersion));
    }

    // These machines have no GPU and no CUDA 13 libraries: appending the CUDA provider throws, which is the
    // path a misconfigured GPU node takes. The CUDA success path needs a GPU and is not reachable here.
    private static bool CudaLoads()
    {
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);
            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false;
        }
    }

    [Fact]
    public void Cuda_without_fallback_fails_with_a_message_that_says_what_to_do()
    {
        if (CudaLoads())
        {
            return; // A GPU machine: the failure path cannot be provoked; the provider loads.
        }
        var factory = new OnnxSessionFactory(ExecutionProviderOptions.Cuda(0));
        var error = Assert.Throws<ExecutionProviderUnavailableException>(() => factory.CreateSessionOptions());
        Assert.Contains("CUDA execution provider could not be loaded for device 0", error.Message);
        Assert.Contains("--device cpu", error.Message);
        Assert.IsType<OnnxRuntimeException>(error.InnerException);
    }

    [Fact]
    public void Cuda_with_fallback_warns_and_runs_on_the_cpu()
    {
        if (CudaLoads())
        {
            return;
        }
        var warnings = new List<string>();
        var factory = new OnnxSessionFactory(ExecutionProviderOptions.Cuda(1, allowCpuFallback: true), warnings.Add);
        using var options = factory.CreateSessionOptions();
        Assert.Equal(ExecutionProviderKind.Cpu, factory.ActiveProvider);
        Assert.Equal("CPUExecutionProvider", factory.ActiveProviderName);
        Assert.Single(warnings);
        Assert.Contains("device 1", warnings[0]);
    }

    [Fact]
    public void Negative_device_ids_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxSessionFactory(new ExecutionProviderOptions(ExecutionProviderKind.Cuda, -2)));
    }
}
