namespace Seg.Export;

/// <summary>A format written as a sequence of files (shards): WebDataset tars, Parquet files.</summary>
internal interface IShardFormat
{
    /// <summary>The format.</summary>
    ExportFormat Format { get; }

    /// <summary>The file extension of a shard, without the dot.</summary>
    string Extension { get; }

    /// <summary>Starts a shard on <paramref name="output"/> (left open).</summary>
    Task<IShardWriter> CreateAsync(Stream output, CancellationToken cancellationToken);

    /// <summary>The keys of the samples in a finished shard (for <c>--resume</c>).</summary>
    IAsyncEnumerable<string> ReadKeysAsync(string path, CancellationToken cancellationToken);

    /// <summary>About how many bytes <paramref name="sample"/> adds to a shard, to keep shards under a byte size.</summary>
    long SizeOf(ExportSample sample);
}

/// <summary>One shard being written.</summary>
internal interface IShardWriter : IAsyncDisposable
{
    /// <summary>Samples added.</summary>
    int Count { get; }

    /// <summary>Adds a sample.</summary>
    Task AddAsync(ExportSample sample, CancellationToken cancellationToken);

    /// <summary>Writes what is buffered and the format's end (tar end blocks, Parquet footer).</summary>
    Task CompleteAsync(CancellationToken cancellationToken);
}
