namespace Seg.Export;

/// <summary>
/// Exports a sweep as a dataset: into a folder (<c>seg export</c>: ImageFolder, WebDataset shards, Parquet shards, with
/// <c>--resume</c>), or as one stream (the farm's <c>GET /api/sweeps/{id}/export</c>: one tar or one Parquet file). The
/// one entry point of the export; the formats' details are their classes'.
/// </summary>
public static class DatasetExporter
{
    /// <summary>The media type of a streamed export.</summary>
    public static string ContentType(ExportFormat format) => format switch
    {
        ExportFormat.WebDataset => "application/x-tar",
        ExportFormat.Parquet => "application/vnd.apache.parquet",
        _ => throw new ExportException($"format: {ExportFormats.Name(format)} is a folder of files and cannot be streamed; use webdataset or parquet"),
    };

    /// <summary>The file name of a streamed export of the sweep <paramref name="sweepName"/>.</summary>
    public static string FileName(ExportFormat format, string sweepName) =>
        $"{ExportNames.ShardName(sweepName)}-000000.{ShardFormat(format).Extension}";

    /// <summary>Exports the images of <paramref name="source"/> into <see cref="ExportOptions.OutputFolder"/>.</summary>
    /// <param name="source">The sweep's images.</param>
    /// <param name="sweepId">The sweep's id, recorded in the manifest.</param>
    /// <param name="options">Format, folder and choices.</param>
    /// <param name="cancellationToken">Cancels the export; what is finished stays, and <c>--resume</c> goes on from there.</param>
    /// <exception cref="ExportException">The folder is not empty without <see cref="ExportOptions.Resume"/>, or holds another export.</exception>
    public static async Task<ExportResult> ExportAsync(IExportSource source, Guid? sweepId, ExportOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var folder = Path.GetFullPath(options.OutputFolder);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            if (!options.Resume)
            {
                throw new ExportException($"--out: folder '{folder}' is not empty; add --resume to go on with the export in it, or choose a new folder");
            }
            ExportFiles.DeletePartials(folder);
        }
        if (options.SplitBy is not null && options.Format != ExportFormat.ImageFolder)
        {
            throw new ExportException($"--split-by: only the imagefolder format splits into folders (got --format {ExportFormats.Name(options.Format)})");
        }
        Directory.CreateDirectory(folder);
        options = options with { OutputFolder = folder };
        return options.Format == ExportFormat.ImageFolder
            ? await new ImageFolderExport(options).RunAsync(source, sweepId, cancellationToken).ConfigureAwait(false)
            : await new ShardedExport(ShardFormat(options.Format, options.RowGroupRows), options).RunAsync(source, sweepId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the images of <paramref name="source"/> to <paramref name="output"/> as one WebDataset tar or one Parquet
    /// file, one sample at a time (Parquet: one row group at a time). On a failure the stream is left without the
    /// format's end (tar end blocks, Parquet footer), so that no reader takes it for a whole export.
    /// </summary>
    /// <returns>The number of images written.</returns>
    public static async Task<int> StreamAsync(IExportSource source, ExportFormat format, ExportFilter filter, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(output);
        _ = ContentType(format);
        var counting = new CountingStream(output);
        await using (counting.ConfigureAwait(false))
        {
            var writer = await ShardFormat(format).CreateAsync(counting, cancellationToken).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                await foreach (var sample in source.ReadAsync(filter, _ => false, cancellationToken).ConfigureAwait(false))
                {
                    await writer.AddAsync(sample, cancellationToken).ConfigureAwait(false);
                }
                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                await counting.FlushAsync(cancellationToken).ConfigureAwait(false);
                return writer.Count;
            }
        }
    }

    /// <summary>Reads back the samples of a WebDataset tar written by <see cref="StreamAsync"/> (the farm's stream).</summary>
    /// <param name="tar">The tar stream.</param>
    /// <param name="what">Where it comes from, for errors.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static IAsyncEnumerable<ExportSample> ReadWebDatasetAsync(Stream tar, string what, CancellationToken cancellationToken) =>
        WebDatasetFormat.ReadSamplesAsync(tar, what, cancellationToken);

    private static IShardFormat ShardFormat(ExportFormat format, int rowGroupRows = ExportOptions.DefaultRowGroupRows) => format switch
    {
        ExportFormat.WebDataset => new WebDatasetFormat(),
        ExportFormat.Parquet => rowGroupRows > 0 ? new ParquetFormat(rowGroupRows) : throw new ExportException($"--row-group-size: must be at least 1 (got {rowGroupRows})"),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a sharded format"),
    };
}
