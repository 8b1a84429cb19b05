using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Seg.Worker.Models;

/// <summary>
/// SHA-256 of a model's weight files, for provenance: every file in each folder that holds an ONNX graph (the
/// <c>.onnx</c> graphs, their external data whatever its name, and the component configs beside them). Computed
/// once per folder and process, off the render slots, and kept on disk per file by (full path, size, modification
/// time) in <c>file-hashes/</c> of <see cref="WorkerOptions.CacheFolder"/>, so that a restarted worker does not read
/// a 7 GB model again. A file that changes changes its size or modification time (as make, git and ccache assume)
/// and is hashed again.
/// </summary>
public sealed class ModelFileHasher
{
    /// <summary>The folder under the worker's cache folder that holds one entry per hashed file.</summary>
    public const string CacheFolderName = "file-hashes";

    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, string>>>> _hashes = new(StringComparer.Ordinal);
    private readonly string _cacheFolder;

    /// <summary>Creates the hasher with its cache in <c>file-hashes/</c> of the worker's cache folder.</summary>
    /// <param name="options">Worker options.</param>
    public ModelFileHasher(IOptions<WorkerOptions> options)
        : this(Path.Combine(options?.Value.CacheFolder ?? throw new ArgumentNullException(nameof(options)), CacheFolderName))
    {
    }

    /// <summary>Creates the hasher with its cache in <paramref name="cacheFolder"/>.</summary>
    /// <param name="cacheFolder">The folder of the per-file entries (created when first written).</param>
    public ModelFileHasher(string cacheFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheFolder);
        _cacheFolder = Path.GetFullPath(cacheFolder);
    }

    /// <summary>The hashes of a model folder: path relative to the folder (with <c>/</c>) to lower-case hex.</summary>
    /// <param name="folder">The model (or VAE) folder.</param>
    /// <param name="cancellationToken">Stops waiting; the computation goes on for the next caller.</param>
    /// <returns>Relative path to hash, sorted by path.</returns>
    public async Task<IReadOnlyDictionary<string, string>> GetAsync(string folder, CancellationToken cancellationToken)
    {
        var key = Path.GetFullPath(folder);
        var lazy = _hashes.GetOrAdd(key, k => new Lazy<Task<IReadOnlyDictionary<string, string>>>(() => Task.Run(() => ComputeAsync(k))));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A failed read is not cached: the next task tries again.
            _hashes.TryRemove(new KeyValuePair<string, Lazy<Task<IReadOnlyDictionary<string, string>>>>(key, lazy));
            throw;
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> ComputeAsync(string folder)
    {
        var graphFolders = Directory.EnumerateFiles(folder, "*.onnx", SearchOption.AllDirectories)
            .Select(Path.GetDirectoryName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
        var files = graphFolders.SelectMany(Directory.EnumerateFiles).Order(StringComparer.Ordinal).ToList();
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            hashes[Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/')] = await HashFileAsync(file).ConfigureAwait(false);
        }

        return hashes;
    }

    private async Task<string> HashFileAsync(string file)
    {
        var info = new FileInfo(file);
        var stamp = new FileStamp(info.FullName, info.Length, info.LastWriteTimeUtc.Ticks);
        var entryPath = Path.Combine(_cacheFolder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(stamp.Path))) + ".json");
        if (await ReadEntryAsync(entryPath).ConfigureAwait(false) is { } cached && cached.Stamp == stamp)
        {
            return cached.Sha256;
        }

        string sha256;
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream).ConfigureAwait(false));
        }

        // Stamped as before the read: a file written meanwhile has a newer time and is hashed again next time.
        await WriteEntryAsync(entryPath, new CacheEntry(stamp, sha256)).ConfigureAwait(false);
        return sha256;
    }

    private static async Task<CacheEntry?> ReadEntryAsync(string entryPath)
    {
        try
        {
            var stream = File.OpenRead(entryPath);
            await using (stream.ConfigureAwait(false))
            {
                return await JsonSerializer.DeserializeAsync<CacheEntry>(stream).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // No entry, or one that cannot be read: hash the file (the cache only saves time).
            return null;
        }
    }

    private async Task WriteEntryAsync(string entryPath, CacheEntry entry)
    {
        var temp = $"{entryPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(_cacheFolder);
            var stream = File.Create(temp);
            await using (stream.ConfigureAwait(false))
            {
                await JsonSerializer.SerializeAsync(stream, entry).ConfigureAwait(false);
            }

            // Replaced whole, so that another worker sharing the cache folder never reads half an entry.
            File.Move(temp, entryPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full cache folder costs the next start a hash, nothing else.
            File.Delete(temp);
        }
    }

    /// <summary>What identifies a file's content without reading it.</summary>
    /// <param name="Path">Full path.</param>
    /// <param name="Size">Length in bytes.</param>
    /// <param name="ModifiedTicks">Last write time, UTC ticks.</param>
    private sealed record FileStamp(string Path, long Size, long ModifiedTicks);

    /// <summary>A cached hash.</summary>
    /// <param name="Stamp">The file as it was hashed.</param>
    /// <param name="Sha256">Its SHA-256, lower-case hex.</param>
    private sealed record CacheEntry(FileStamp Stamp, string Sha256);
}
