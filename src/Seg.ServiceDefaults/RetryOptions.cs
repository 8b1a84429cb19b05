using System.ComponentModel.DataAnnotations;

namespace Seg.ServiceDefaults;

/// <summary>
/// In-place retries of a consumer's faults with exponential back-off, before the message faults: one setting for the
/// coordinator and the worker, each binding it under its own section (<c>Coordinator:Retry</c>, <c>Worker:Retry</c>)
/// with its own defaults, and applying it with <see cref="RetryServiceExtensions.UseSegRetry"/>. Checked at start
/// through <see cref="ValidateSectionAttribute"/> on the property that holds it. The defaults here are the worker's.
/// </summary>
public record RetryOptions : IValidatableObject
{
    /// <summary>The name of the subsection under a process's section.</summary>
    public const string Subsection = "Retry";

    /// <summary>Retries after the first try. Default 5.</summary>
    [SettingRange(0, 100, ErrorMessage = "must be between {1} and {2}")]
    public int Limit { get; init; } = 5;

    /// <summary>First delay, in seconds. Default 0.5.</summary>
    [SettingRange(0.001, 3600.0, ErrorMessage = "must be between {1} and {2} seconds")]
    public double MinIntervalSeconds { get; init; } = 0.5;

    /// <summary>Largest delay, in seconds. Default 30.</summary>
    [SettingRange(0.001, 3600.0, ErrorMessage = "must be between {1} and {2} seconds")]
    public double MaxIntervalSeconds { get; init; } = 30;

    /// <summary>
    /// Step of the back-off, in seconds: the n-th delay is about the first plus (2^n - 1) steps, up to the largest.
    /// Unset: <see cref="MinIntervalSeconds"/>.
    /// </summary>
    [SettingRange(0.001, 3600.0, ErrorMessage = "must be between {1} and {2} seconds")]
    public double? IntervalDeltaSeconds { get; init; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxIntervalSeconds < MinIntervalSeconds)
        {
            yield return new ValidationResult(
                $"must be >= MinIntervalSeconds (got {MaxIntervalSeconds} < {MinIntervalSeconds})", [nameof(MaxIntervalSeconds)]);
        }
    }
}
