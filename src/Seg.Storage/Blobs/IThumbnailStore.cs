namespace Seg.Storage.Blobs;

/// <summary>
/// Thumbnails of the rendered images, kept beside them in the same store (<see cref="ImageBlobNames.ThumbnailForTask"/>),
/// so that each is made once and the web pages never send a full PNG to be scaled down by the browser.
/// </summary>
public interface IThumbnailStore
{
    /// <summary>The stored thumbnail of a task, or null when none is stored yet.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The thumbnail's bytes (JPEG), or null.</returns>
    Task<byte[]?> ReadThumbnailAsync(Guid taskId, CancellationToken cancellationToken);

    /// <summary>Stores the thumbnail of a task; a second write of the same task replaces the first (both come from the same PNG).</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="jpeg">The thumbnail's bytes (JPEG).</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    Task WriteThumbnailAsync(Guid taskId, ReadOnlyMemory<byte> jpeg, CancellationToken cancellationToken);
}
