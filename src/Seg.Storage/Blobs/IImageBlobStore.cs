namespace Seg.Storage.Blobs;

/// <summary>Stores rendered PNGs under names derived from the task id. Uploads are safe to repeat.</summary>
public interface IImageBlobStore
{
    /// <summary>Stores the PNG of a task. Repeating it with the same bytes writes nothing new.</summary>
    /// <param name="taskId">Task id; the blob name is derived from it.</param>
    /// <param name="png">PNG file bytes.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>Name, URI and MD5 of the stored blob.</returns>
    Task<StoredImage> UploadPngAsync(Guid taskId, ReadOnlyMemory<byte> png, CancellationToken cancellationToken);

    /// <summary>Opens the PNG of a task for reading.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A stream the caller disposes.</returns>
    /// <exception cref="FileNotFoundException">No image is stored for the task.</exception>
    Task<Stream> OpenReadAsync(Guid taskId, CancellationToken cancellationToken);

    /// <summary>Whether a PNG is stored for the task.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>True when it exists.</returns>
    Task<bool> ExistsAsync(Guid taskId, CancellationToken cancellationToken);
}
