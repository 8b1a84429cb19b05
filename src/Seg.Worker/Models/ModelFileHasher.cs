using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Seg.Worker.Models;

/// <summary>
/// SHA-256 of a model's weight files, for provenance: every file in each folder that holds an ONNX graph (the
/// <c>.onnx</c> graphs, their external data whatever its name, and the component configs beside them). Computed
/// once per folder and process, off the render slots.
/// </summary>
public sealed class ModelFileHasher
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, string>>>> _hashes = new(StringComparer.Ordinal);

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

    private static async Task<IReadOnlyDictionary<string, string>> ComputeAsync(string folder)
    {
        var graphFolders = Directory.EnumerateFiles(folder, "*.onnx", SearchOption.AllDirectories)
            .Select(Path.GetDirectoryName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
        var files = graphFolders.SelectMany(Directory.EnumerateFiles).Order(StringComparer.Ordinal).ToList();
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                var hash = await SHA256.HashDataAsync(stream).ConfigureAwait(false);
                hashes[Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/')] = Convert.ToHexStringLower(hash);
            }
        }

        return hashes;
    }
}
