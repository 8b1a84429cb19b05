using System.Formats.Tar;
using System.Runtime.CompilerServices;

namespace Seg.Export;

/// <summary>
/// WebDataset shards: POSIX (ustar) tars in which each sample is <c>KEY.json</c> (every column, <see cref="ExportJson"/>)
/// followed by <c>KEY.png</c>. Entries carry the image's stored time, mode 0644 and owner 0, nothing of the exporting
/// machine: the same sweep gives the same bytes. Ustar, not PAX: .NET's PAX entries add the current time as atime/ctime.
/// </summary>
internal sealed class WebDatasetFormat : IShardFormat
{
    /// <summary>The size of a tar header and the unit of padding.</summary>
    private const int Block = 512;

    // What a sample's KEY.json is allowed for when sizing shards by bytes: eight tar blocks (its provenance is about 2 kB).
    private const int JsonAllowance = 8 * Block;

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public ExportFormat Format => ExportFormat.WebDataset;

    public string Extension => "tar";

    public Task<IShardWriter> CreateAsync(Stream output, CancellationToken cancellationToken) =>
        Task.FromResult<IShardWriter>(new Writer(new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true)));

    public async IAsyncEnumerable<string> ReadKeysAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            var tar = new TarReader(file);
            await using (tar.ConfigureAwait(false))
            {
                while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.Name.EndsWith(".json", StringComparison.Ordinal))
                    {
                        yield return entry.Name[..^".json".Length];
                    }
                }
            }
        }
    }

    public long SizeOf(ExportSample sample) => 2 * Block + Padded(sample.Png.Length) + Padded(JsonAllowance);

    /// <summary>Reads samples back from a tar stream written by this format (the farm's export stream).</summary>
    public static async IAsyncEnumerable<ExportSample> ReadSamplesAsync(Stream tarStream, string what, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tar = new TarReader(tarStream, leaveOpen: true);
        await using (tar.ConfigureAwait(false))
        {
            (string Key, object?[] Values)? pending = null;
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var dot = entry.Name.IndexOf('.', StringComparison.Ordinal);
                if (dot <= 0 || entry.DataStream is null)
                {
                    continue;
                }
                var key = entry.Name[..dot];
                using var buffer = new MemoryStream();
                await entry.DataStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                switch (entry.Name[(dot + 1)..])
                {
                    case "json":
                        pending = (key, ExportJson.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), $"{what}: {entry.Name}"));
                        break;
                    case "png" when pending?.Key == key:
                        yield return new ExportSample(key, pending.Value.Values, buffer.ToArray());
                        pending = null;
                        break;
                    case "png":
                        throw new ExportException($"{what}: {entry.Name} comes without its {key}.json before it");
                }
            }
        }
    }

    private static long Padded(long size) => (size + Block - 1) / Block * Block;

    private sealed class Writer(TarWriter tar) : IShardWriter
    {
        public int Count { get; private set; }

        public async Task AddAsync(ExportSample sample, CancellationToken cancellationToken)
        {
            await WriteEntryAsync($"{sample.Key}.json", ExportJson.Serialize(sample.Values), sample.CreatedAt, cancellationToken).ConfigureAwait(false);
            await WriteEntryAsync($"{sample.Key}.png", sample.Png, sample.CreatedAt, cancellationToken).ConfigureAwait(false);
            Count++;
        }

        public async Task CompleteAsync(CancellationToken cancellationToken) => await tar.DisposeAsync().ConfigureAwait(false);

        // Not the tar's end blocks: a shard that failed half way must not end like a whole one.
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async Task WriteEntryAsync(string name, byte[] data, DateTimeOffset time, CancellationToken cancellationToken)
        {
            using var content = new MemoryStream(data, writable: false);
            var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = content,
                Mode = FileMode,
                ModificationTime = DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds()),
                Uid = 0,
                Gid = 0,
            };
            await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }
}
