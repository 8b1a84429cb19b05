using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Seg.Storage.Configurations;

/// <summary>
/// Stores an enum as its lower-case name (<c>pending</c>, <c>running</c>, ...), so SQL written by hand,
/// partial-index filters and dashboards read plain words.
/// </summary>
/// <typeparam name="TEnum">The enum type.</typeparam>
public sealed class LowerCaseEnumConverter<TEnum> : ValueConverter<TEnum, string>
    where TEnum : struct, Enum
{
    /// <summary>Creates the converter.</summary>
    public LowerCaseEnumConverter()
        : base(v => ToText(v), v => Enum.Parse<TEnum>(v, true))
    {
    }

    /// <summary>The stored text of <paramref name="value"/>.</summary>
    public static string ToText(TEnum value) => value.ToString().ToLowerInvariant();

    /// <summary>A SQL check that the column holds one of the enum's names.</summary>
    public static string CheckSql(string column) =>
        $"{column} IN ({string.Join(", ", Enum.GetValues<TEnum>().Select(v => $"'{ToText(v)}'"))})";
}
