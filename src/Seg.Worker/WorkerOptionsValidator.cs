using Microsoft.Extensions.Options;
using Seg.Pipeline.Runtime;

namespace Seg.Worker;

/// <summary>Checks <see cref="WorkerOptions"/> at startup; every broken rule is named with its configuration key.</summary>
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var devices = options.ResolvedDevices;
        var seen = new HashSet<string>();
        for (var i = 0; i < devices.Count; i++)
        {
            try
            {
                var device = ExecutionProviderOptions.Parse(devices[i]).ToString();
                if (!seen.Add(device))
                {
                    errors.Add($"Worker:Devices:{i} must name each device once (got '{devices[i]}' twice)");
                }
            }
            catch (ArgumentException)
            {
                errors.Add($"Worker:Devices:{i} must be 'cpu', 'cuda' or 'cuda:<id>' (got '{devices[i]}')");
            }
        }

        Check(errors, !devices.Contains("cpu") || options.CpuSlots >= 1, $"Worker:CpuSlots must be >= 1 when a device is cpu (got {options.CpuSlots})");
        Check(errors, !string.IsNullOrWhiteSpace(options.ModelRoot), "Worker:ModelRoot must not be empty");
        Check(errors, !string.IsNullOrWhiteSpace(options.CacheFolder), "Worker:CacheFolder must not be empty");
        Check(errors, options.MaxModelsPerSlot >= 1, $"Worker:MaxModelsPerSlot must be >= 1 (got {options.MaxModelsPerSlot})");
        Check(errors, options.DrainTimeoutSeconds > 0, $"Worker:DrainTimeoutSeconds must be > 0 (got {options.DrainTimeoutSeconds})");
        Check(errors, options.FakeRenderSeconds >= 0, $"Worker:FakeRenderSeconds must be >= 0 (got {options.FakeRenderSeconds})");
        Check(errors, !string.IsNullOrWhiteSpace(options.QueueName), "Worker:QueueName must not be empty");
        Check(errors, options.Retry.Limit >= 0, $"Worker:Retry:Limit must be >= 0 (got {options.Retry.Limit})");
        Check(errors, options.Retry.MinIntervalSeconds > 0, $"Worker:Retry:MinIntervalSeconds must be > 0 (got {options.Retry.MinIntervalSeconds})");
        Check(errors, options.Retry.MaxIntervalSeconds >= options.Retry.MinIntervalSeconds,
            $"Worker:Retry:MaxIntervalSeconds must be >= MinIntervalSeconds (got {options.Retry.MaxIntervalSeconds} < {options.Retry.MinIntervalSeconds})");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(List<string> errors, bool condition, string message)
    {
        if (!condition)
        {
            errors.Add(message);
        }
    }
}
