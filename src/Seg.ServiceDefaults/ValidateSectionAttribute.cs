using System.ComponentModel.DataAnnotations;
using System.Reflection;

namespace Seg.ServiceDefaults;

/// <summary>
/// Checks the DataAnnotations of a nested settings object (its attributes and its <see cref="IValidatableObject"/>
/// rules, every broken one at once), which <c>ValidateDataAnnotations</c> does not descend into, and names each broken
/// rule with its configuration key under <see cref="Section"/>: <c>Worker:Retry:Limit must be between 0 and 100 (got -1)</c>.
/// The nested object's messages are phrased to follow the key.
/// </summary>
/// <param name="section">The configuration path of the nested object, e.g. <c>Worker:Retry</c>.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ValidateSectionAttribute(string section) : ValidationAttribute
{
    /// <summary>The configuration path of the nested object.</summary>
    public string Section { get; } = section;

    /// <inheritdoc />
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        if (value is null)
        {
            return new ValidationResult($"{Section} must be set", [validationContext.MemberName!]);
        }

        // Each property, then the rules across them, all at once (TryValidateObject would skip the latter after a failure).
        var results = new List<ValidationResult>();
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            Validator.TryValidateProperty(property.GetValue(value), new ValidationContext(value) { MemberName = property.Name }, results);
        }

        if (value is IValidatableObject acrossFields)
        {
            results.AddRange(acrossFields.Validate(new ValidationContext(value)));
        }

        if (results.Count == 0)
        {
            return ValidationResult.Success;
        }

        var rules = results.SelectMany(r => r.MemberNames.DefaultIfEmpty().Select(member =>
            member is null ? $"{Section} {r.ErrorMessage}" : $"{Section}:{member} {r.ErrorMessage}"));
        return new ValidationResult(string.Join("; ", rules), [validationContext.MemberName!]);
    }
}
