using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Seg.Storage.Blobs;

/// <summary>
/// Images in a local folder, named by <see cref="ImageBlobNames"/> (in the standalone mode, readable names such as
/// <c>0003-seed2-sigma1-seg3-cfg5.png</c>). Each file is written to a temporary file beside it and then moved into place, so a
/// reader never sees half a PNG.
/// </summary>
public sealed class LocalFolderImageBlobStore : IImageBlobStore, IThumbnailStore, IImageBlobInventory
{
    private readonly string _root;

    /// <summary>Creates the store; the folder is created when missing.</summary>
    /// <param name="rootFolder">Folder that holds the <c>images/</c> tree.</param>
    public LocalFolderImageBlobStore(string rootFolder)
    {
        if (string.IsNullOrWhiteSpace(rootFolder))
        {
            throw new ArgumentException("local blob folder must not be empty (BlobStorage:LocalFolder)", nameof(rootFolder));
        }

        _root = Path.GetFullPath(rootFolder);
        Directory.CreateDirectory(_root);
    }

    /// <summary>The folder that holds the images.</summary>
    public string RootFolder => _root;

    /// <inheritdoc />
    public async Task<StoredImage> UploadPngAsync(string name, ReadOnlyMemory<byte> png, CancellationToken cancellationToken)
    {
        if (png.IsEmpty)
        {
            throw new ArgumentException("png must not be empty", nameof(png));
        }

        var path = PathOf(name);
        var uri = new Uri(path);
        var md5Base64 = Convert.ToBase64String(MD5.HashData(png.Span));

        var outcome = BlobWriteOutcome.Created;
        if (File.Exists(path))
        {
            if (await Md5OfFileAsync(path, cancellationToken).ConfigureAwait(false) == md5Base64)
            {
                return new StoredImage(name, uri, md5Base64, BlobWriteOutcome.AlreadyPresent);
            }

            outcome = BlobWriteOutcome.Replaced;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(png, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        return new StoredImage(name, uri, md5Base64, outcome);
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no image stored as '{name}' (file '{path}')", path);
        }

        return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous));
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(File.Exists(PathOf(name)));

    /// <inheritdoc />
    public async Task<byte[]?> ReadThumbnailAsync(Guid taskId, CancellationToken cancellationToken)
    {
        var path = PathOf(ImageBlobNames.ThumbnailForTask(taskId));
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <inheritdoc />
    public async Task WriteThumbnailAsync(Guid taskId, ReadOnlyMemory<byte> jpeg, CancellationToken cancellationToken)
    {
        var path = PathOf(ImageBlobNames.ThumbnailForTask(taskId));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllBytesAsync(temp, jpeg.ToArray(), cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <inheritdoc />
    public Task<bool> StoreExistsAsync(CancellationToken cancellationToken) => Task.FromResult(Directory.Exists(_root));

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListNamesAsync(CancellationToken cancellationToken) => ListFolderAsync("", cancellationToken);

    /// <summary>
    /// The names under <paramref name="prefix"/> (a folder, "" or ending in <c>/</c>), depth first, each folder's entries
    /// sorted with a sub-folder <c>d</c> as <c>d/</c>: names sharing a prefix are contiguous in ordinal order, so the walk
    /// yields the full names in ordinal order while holding one folder's entries per level.
    /// </summary>
    private async IAsyncEnumerable<string> ListFolderAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = prefix.Length == 0 ? _root : Path.Combine(_root, prefix.Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        var entries = new List<string>();
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo)
            {
                entries.Add(prefix + entry.Name + "/");
            }
            else if (!entry.Name.StartsWith('.') && !entry.Name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                // Not the temporary files of writes in progress.
                entries.Add(prefix + entry.Name);
            }
        }

        entries.Sort(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!entry.EndsWith('/'))
            {
                yield return entry;
                continue;
            }

            await foreach (var name in ListFolderAsync(entry, cancellationToken).ConfigureAwait(false))
            {
                yield return name;
            }
        }
    }

    private string PathOf(string blobName)
    {
        var path = Path.GetFullPath(Path.Combine(_root, blobName.Replace('/', Path.DirectorySeparatorChar)));
        // Names come from ImageBlobNames, but a name must never reach outside the folder.
        return path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new ArgumentException($"image name '{blobName}' leads outside the image folder '{_root}'", nameof(blobName));
    }

    private static async Task<string> Md5OfFileAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToBase64String(await MD5.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
    }
}
