namespace Seg.Export;

/// <summary>One image to export: its key, every column's value (<see cref="ExportColumns.All"/> order) and its PNG.</summary>
/// <param name="Key">The stable sample key (<see cref="ExportColumns.KeyOf"/>).</param>
/// <param name="Values">The column values.</param>
/// <param name="Png">The PNG file, as stored.</param>
public sealed record ExportSample(string Key, object?[] Values, byte[] Png)
{
    /// <summary>When the image was stored (UTC): the time its files carry in a tar.</summary>
    public DateTimeOffset CreatedAt => (DateTimeOffset)Values[CreatedAtIndex]!;

    /// <summary>The value of the column named <paramref name="name"/>.</summary>
    public object? Get(string name) => Values[ExportColumns.IndexOf(name)];

    private static readonly int CreatedAtIndex = ExportColumns.IndexOf(ExportColumns.CreatedAt);
}
