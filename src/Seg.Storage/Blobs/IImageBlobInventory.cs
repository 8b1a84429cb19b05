namespace Seg.Storage.Blobs;

/// <summary>
/// What the blob audit (<see cref="Audit.BlobAudit"/>) needs of an image store beyond <see cref="IImageBlobStore"/>: whether
/// the store (container or folder) exists at all, and every name in it in ordinal order, page by page, so that the
/// audit can walk the names beside the provenance rows with bounded memory.
/// </summary>
public interface IImageBlobInventory
{
    /// <summary>Whether the container (or folder) exists; false after a store was recreated empty or deleted.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>True when it exists.</returns>
    Task<bool> StoreExistsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every blob name in the store, in ordinal order of the names (as Azure lists them; a missing container lists
    /// nothing), fetched page by page.
    /// </summary>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The names.</returns>
    IAsyncEnumerable<string> ListNamesAsync(CancellationToken cancellationToken);
}
