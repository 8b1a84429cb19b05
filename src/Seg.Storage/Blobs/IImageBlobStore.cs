namespace Seg.Storage.Blobs;

/// <summary>
/// Stores rendered PNGs under names that <see cref="ImageBlobNames"/> derives from the task, so that a redelivered
/// task writes the same blob. Uploads are safe to repeat. Readers take the name from the task's provenance row
/// (<c>images.blob_name</c>).
/// </summary>
public interface IImageBlobStore
{
    /// <summary>Stores a PNG. Repeating it with the same bytes writes nothing new.</summary>
    /// <param name="name">Blob name, from <see cref="ImageBlobNames"/>.</param>
    /// <param name="png">PNG file bytes.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>Name, URI and MD5 of the stored blob.</returns>
    Task<StoredImage> UploadPngAsync(string name, ReadOnlyMemory<byte> png, CancellationToken cancellationToken);

    /// <summary>Opens a stored PNG for reading.</summary>
    /// <param name="name">Blob name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A stream the caller disposes.</returns>
    /// <exception cref="FileNotFoundException">No image is stored under the name.</exception>
    Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Whether a PNG is stored under the name.</summary>
    /// <param name="name">Blob name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>True when it exists.</returns>
    Task<bool> ExistsAsync(string name, CancellationToken cancellationToken);
}
