using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Seg.Storage.Faults;

namespace Seg.Storage.Blobs;

/// <summary>
/// Images in Azure Blob Storage (or Azurite). Uploads are conditional (<c>If-None-Match: *</c>): a repeated
/// upload of the same bytes finds the blob, sees the same Content-MD5 and writes nothing; a blob with other
/// bytes (left by an earlier, interrupted attempt) is replaced only in the version that was compared
/// (<c>If-Match</c>), so two racing writers cannot silently overwrite each other.
/// </summary>
public sealed class AzureImageBlobStore : IImageBlobStore, IThumbnailStore, IImageBlobInventory, IDisposable
{
    private const int MaxConflictRounds = 3;

    /// <summary>Names per listing page (Azure's largest page): the audit holds one page at a time.</summary>
    private const int ListPageSize = 5000;
    private readonly BlobContainerClient _container;
    private readonly SemaphoreSlim _containerLock = new(1, 1);
    private bool _containerReady;

    /// <summary>Creates the store from options (connection string and container name).</summary>
    /// <param name="options">Blob storage options.</param>
    /// <exception cref="ArgumentException">The connection string is missing or the container name is invalid.</exception>
    public AzureImageBlobStore(BlobStorageOptions options)
        : this(CreateContainerClient(options))
    {
    }

    /// <summary>Creates the store over an existing container client (the container is created when missing).</summary>
    /// <param name="container">Container client.</param>
    public AzureImageBlobStore(BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
    }

    /// <summary>The container the store writes to.</summary>
    public Uri ContainerUri => _container.Uri;

    /// <inheritdoc />
    public async Task<StoredImage> UploadPngAsync(string name, ReadOnlyMemory<byte> png, CancellationToken cancellationToken)
    {
        if (png.IsEmpty)
        {
            throw new ArgumentException("png must not be empty", nameof(png));
        }

        var containerCreated = await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _container.GetBlobClient(name);
        var md5 = MD5.HashData(png.Span);
        var md5Base64 = Convert.ToBase64String(md5);
        var content = BinaryData.FromBytes(png);

        var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        for (var round = 0; round < MaxConflictRounds; round++)
        {
            try
            {
                await blob.UploadAsync(content, UploadOptions(md5, conditions), cancellationToken).ConfigureAwait(false);
                return new StoredImage(name, blob.Uri, md5Base64, conditions.IfMatch is null ? BlobWriteOutcome.Created : BlobWriteOutcome.Replaced)
                {
                    ContainerCreated = containerCreated,
                };
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // 409 BlobAlreadyExists answers If-None-Match: *; 412 answers a failed If-Match.
            }
            catch (RequestFailedException e) when (StorageFaults.IsContainerNotFound(e))
            {
                // The store was recreated empty (or the container deleted): create the container again and retry.
                Volatile.Write(ref _containerReady, false);
                containerCreated |= await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
                conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
                continue;
            }

            BlobProperties existing;
            try
            {
                existing = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
                continue;
            }

            if (existing.ContentHash is { } hash && hash.AsSpan().SequenceEqual(md5))
            {
                return new StoredImage(name, blob.Uri, md5Base64, BlobWriteOutcome.AlreadyPresent) { ContainerCreated = containerCreated };
            }

            conditions = new BlobRequestConditions { IfMatch = existing.ETag };
        }

        throw new InvalidOperationException($"blob '{name}' kept changing during {MaxConflictRounds} upload attempts; another writer is active");
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var download = await _container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return download.Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"no image stored as blob '{name}' in container '{_container.Name}')", name, e);
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
    {
        var response = await _container.GetBlobClient(name).ExistsAsync(cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    /// <inheritdoc />
    public async Task<byte[]?> ReadThumbnailAsync(Guid taskId, CancellationToken cancellationToken)
    {
        try
        {
            var download = await _container.GetBlobClient(ImageBlobNames.ThumbnailForTask(taskId)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return download.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task WriteThumbnailAsync(Guid taskId, ReadOnlyMemory<byte> jpeg, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var options = new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "image/jpeg" } };
        await _container.GetBlobClient(ImageBlobNames.ThumbnailForTask(taskId)).UploadAsync(BinaryData.FromBytes(jpeg), options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> StoreExistsAsync(CancellationToken cancellationToken) =>
        (await _container.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pages = _container.GetBlobsAsync(cancellationToken: cancellationToken).AsPages(pageSizeHint: ListPageSize);
        await using var page = pages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await page.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (RequestFailedException e) when (StorageFaults.IsContainerNotFound(e))
            {
                // No container: no blob.
                yield break;
            }

            foreach (var blob in page.Current.Values)
            {
                yield return blob.Name;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _containerLock.Dispose();

    private static BlobUploadOptions UploadOptions(byte[] md5, BlobRequestConditions conditions) => new()
    {
        // ContentHash is stored with the blob (compared on a repeat); the transfer checksum lets the
        // service reject bytes damaged on the way.
        HttpHeaders = new BlobHttpHeaders { ContentType = "image/png", ContentHash = md5 },
        Conditions = conditions,
        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
    };

    /// <summary>Creates the container unless it is known to exist; true when this call created it.</summary>
    private async Task<bool> EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady))
        {
            return false;
        }

        await _containerLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_containerReady)
            {
                return false;
            }

            // A response only when it was created (null when it existed).
            var created = await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _containerReady, true);
            return created is not null;
        }
        finally
        {
            _containerLock.Release();
        }
    }

    private static BlobContainerClient CreateContainerClient(BlobStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("blob connection string must be set (BlobStorage:ConnectionString or ConnectionStrings:Blobs)", nameof(options));
        }

        options.ValidateContainerName();
        return new BlobServiceClient(options.ConnectionString).GetBlobContainerClient(options.ContainerName);
    }
}
