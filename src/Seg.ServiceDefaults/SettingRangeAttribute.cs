using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Seg.ServiceDefaults;

/// <summary>
/// A <see cref="RangeAttribute"/> for settings whose message ends with the value given, as the other settings errors do:
/// <c>Worker:MaxModelsPerSlot must be >= 1 (got 0)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingRangeAttribute : RangeAttribute
{
    /// <summary>A range of whole numbers.</summary>
    /// <param name="minimum">Smallest value allowed.</param>
    /// <param name="maximum">Largest value allowed.</param>
    public SettingRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    /// <summary>A range of numbers.</summary>
    /// <param name="minimum">Smallest value allowed.</param>
    /// <param name="maximum">Largest value allowed.</param>
    public SettingRangeAttribute(double minimum, double maximum)
        : base(minimum, maximum)
    {
    }

    /// <inheritdoc />
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        var result = base.IsValid(value, validationContext);
        return result is null
            ? ValidationResult.Success
            : new ValidationResult($"{result.ErrorMessage} (got {Convert.ToString(value, CultureInfo.InvariantCulture)})", result.MemberNames);
    }
}
