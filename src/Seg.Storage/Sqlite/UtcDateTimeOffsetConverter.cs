using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Seg.Storage.Sqlite;

/// <summary>
/// Stores a <see cref="DateTimeOffset"/> as the UTC <see cref="DateTime"/> of the same instant, which
/// Microsoft.Data.Sqlite writes as sortable text (<c>2026-01-31 12:00:00.1234567</c>) and EF Core can
/// order and compare. Values read back have offset zero; the instant is unchanged.
/// </summary>
internal sealed class UtcDateTimeOffsetConverter : ValueConverter<DateTimeOffset, DateTime>
{
    /// <summary>Creates the converter.</summary>
    public UtcDateTimeOffsetConverter()
        : base(v => v.UtcDateTime, v => new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)))
    {
    }
}
