using Seg.Parameters;

namespace Seg.Export;

/// <summary>What <c>seg export</c> writes where.</summary>
/// <param name="Format">The dataset format.</param>
/// <param name="OutputFolder">The folder; it must be empty or missing unless <see cref="Resume"/>.</param>
public sealed record ExportOptions(ExportFormat Format, string OutputFolder)
{
    /// <summary>Which images.</summary>
    public ExportFilter Filter { get; init; } = ExportFilter.None;

    /// <summary>Shard files' name, <c>NAME-000000.tar</c>; null: the sweep's name.</summary>
    public string? Name { get; init; }

    /// <summary>When a shard is full (WebDataset, Parquet).</summary>
    public ShardSize ShardSize { get; init; } = ShardSize.Default;

    /// <summary>Parquet: most rows per row group (a row group is what a writer and a reader hold in memory).</summary>
    public int RowGroupRows { get; init; } = DefaultRowGroupRows;

    /// <summary>The default of <see cref="RowGroupRows"/>.</summary>
    public const int DefaultRowGroupRows = 1000;

    /// <summary>ImageFolder: one folder (with its own <c>metadata.jsonl</c>) per value of this parameter.</summary>
    public ParameterDefinition? SplitBy { get; init; }

    /// <summary>Go on with an export in <see cref="OutputFolder"/>: only the images not yet exported are written.</summary>
    public bool Resume { get; init; }
}

/// <summary>What an export did.</summary>
/// <param name="Exported">Images written by this run.</param>
/// <param name="Skipped">Images found exported already (<c>--resume</c>).</param>
/// <param name="Files">Shards (or folders, ImageFolder) written by this run, relative to the output folder.</param>
public sealed record ExportResult(int Exported, int Skipped, IReadOnlyList<string> Files);
