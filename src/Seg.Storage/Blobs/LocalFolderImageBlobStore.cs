using System.Security.Cryptography;

namespace Seg.Storage.Blobs;

/// <summary>
/// Images in a local folder, named by <see cref="ImageBlobNames"/> (in the standalone mode, readable names such as
/// <c>0003-seed2-sigma1-seg3-cfg5.png</c>). Each file is written to a temporary file beside it and then moved into place, so a
/// reader never sees half a PNG.
/// </summary>
public sealed class LocalFolderImageBlobStore : IImageBlobStore, IThumbnailStore
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
