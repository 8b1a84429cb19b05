using Microsoft.Extensions.Options;
using Seg.Pipeline.Runtime;

namespace Seg.Worker;

/// <summary>
/// The rules of <see cref="WorkerOptions"/> across fields, which its DataAnnotations cannot express: each device named
/// once and known, and CPU slots when a device is <c>cpu</c>. Checked at start beside the DataAnnotations (the options
/// framework runs both and reports every broken rule at once); each is named with its configuration key.
/// </summary>
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

        if (devices.Contains("cpu") && options.CpuSlots < 1)
        {
            errors.Add($"Worker:CpuSlots must be >= 1 when a device is cpu (got {options.CpuSlots})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
