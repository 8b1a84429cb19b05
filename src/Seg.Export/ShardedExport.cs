using System.Globalization;

namespace Seg.Export;

/// <summary>
/// A sharded export into a folder: shards <c>NAME-000000.EXT</c>, each written as a hidden <c>.partial</c> file and moved
/// into place when whole, then listed in <c>manifest.json</c> with its count and SHA-256. A failure half way deletes the
/// partial shard; <c>--resume</c> reads the keys of the listed shards and writes the rest into new shards.
/// </summary>
internal sealed class ShardedExport(IShardFormat format, ExportOptions options)
{
    public async Task<ExportResult> RunAsync(IExportSource source, Guid? sweepId, CancellationToken cancellationToken)
    {
        var folder = options.OutputFolder;
        var previous = options.Resume ? ExportManifest.Load(folder) : null;
        var formatName = ExportFormats.Name(format.Format);
        if (previous is not null && previous.Format != formatName)
        {
            throw new ExportException($"--resume: {folder} holds a {previous.Format} export, not {formatName}");
        }
        var name = previous?.Name ?? ExportNames.ShardName(options.Name ?? source.SweepName);
        var shards = previous?.Shards.ToList() ?? [];
        var done = new ExportedKeys();
        foreach (var shard in shards)
        {
            await foreach (var key in format.ReadKeysAsync(Path.Combine(folder, shard.File), cancellationToken).ConfigureAwait(false))
            {
                done.Add(key);
            }
        }

        var written = new List<string>();
        var exported = 0;
        Shard? current = null;
        try
        {
            await foreach (var sample in source.ReadAsync(options.Filter, done.Skip, cancellationToken).ConfigureAwait(false))
            {
                if (current is not null && options.ShardSize.IsFull(current.Writer.Count, current.Output.Position, format.SizeOf(sample)))
                {
                    shards.Add(await current.CompleteAsync(cancellationToken).ConfigureAwait(false));
                    written.Add(shards[^1].File);
                    current = null;
                    Manifest(sweepId, name, shards).Save(folder);
                }
                current ??= await Shard.OpenAsync(format, Path.Combine(folder, $"{name}-{shards.Count.ToString("D6", CultureInfo.InvariantCulture)}.{format.Extension}"), cancellationToken)
                    .ConfigureAwait(false);
                await current.Writer.AddAsync(sample, cancellationToken).ConfigureAwait(false);
                exported++;
            }
            if (current is not null)
            {
                shards.Add(await current.CompleteAsync(cancellationToken).ConfigureAwait(false));
                written.Add(shards[^1].File);
                current = null;
            }
        }
        finally
        {
            if (current is not null)
            {
                await current.AbandonAsync().ConfigureAwait(false);
            }
        }
        Manifest(sweepId, name, shards).Save(folder);
        return new ExportResult(exported, done.Skipped, written);
    }

    private ExportManifest Manifest(Guid? sweepId, string name, List<ExportShard> shards) =>
        new(ExportFormats.Name(format.Format), sweepId, name, null, shards.Sum(s => s.Count), shards.ToList());

    /// <summary>A shard being written to its partial file.</summary>
    private sealed class Shard(string path, FileStream file, CountingStream output, IShardWriter writer)
    {
        public CountingStream Output => output;

        public IShardWriter Writer => writer;

        public static async Task<Shard> OpenAsync(IShardFormat format, string path, CancellationToken cancellationToken)
        {
            var file = new FileStream(ExportFiles.PartialOf(path), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            var output = new CountingStream(file);
            try
            {
                return new Shard(path, file, output, await format.CreateAsync(output, cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                await output.DisposeAsync().ConfigureAwait(false);
                await file.DisposeAsync().ConfigureAwait(false);
                File.Delete(ExportFiles.PartialOf(path));
                throw;
            }
        }

        public async Task<ExportShard> CompleteAsync(CancellationToken cancellationToken)
        {
            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            var shard = new ExportShard(Path.GetFileName(path), writer.Count, output.Position, output.Sha256());
            await output.DisposeAsync().ConfigureAwait(false);
            await file.DisposeAsync().ConfigureAwait(false);
            File.Move(ExportFiles.PartialOf(path), path, overwrite: true);
            return shard;
        }

        public async Task AbandonAsync()
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            await output.DisposeAsync().ConfigureAwait(false);
            await file.DisposeAsync().ConfigureAwait(false);
            File.Delete(ExportFiles.PartialOf(path));
        }
    }
}
