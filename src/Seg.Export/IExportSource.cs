namespace Seg.Export;

/// <summary>Where an export reads a sweep's images: a database with its blob store, or a farm's export stream.</summary>
public interface IExportSource
{
    /// <summary>The sweep's name (the default shard name).</summary>
    string SweepName { get; }

    /// <summary>
    /// The sweep's images that <paramref name="filter"/> takes, in task order, one at a time (memory stays bounded),
    /// leaving out those whose key <paramref name="skip"/> answers true for (already exported) before reading their PNG.
    /// </summary>
    IAsyncEnumerable<ExportSample> ReadAsync(ExportFilter filter, Func<string, bool> skip, CancellationToken cancellationToken);
}
