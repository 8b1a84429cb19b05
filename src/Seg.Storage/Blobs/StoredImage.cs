namespace Seg.Storage.Blobs;

/// <summary>How an upload ended.</summary>
public enum BlobWriteOutcome
{
    /// <summary>The blob did not exist and was written.</summary>
    Created,

    /// <summary>A blob with identical content (same MD5) was already there; nothing was written.</summary>
    AlreadyPresent,

    /// <summary>A blob with different content (an earlier attempt) was there and was replaced.</summary>
    Replaced,
}

/// <summary>Where an image was stored.</summary>
/// <param name="BlobName">Blob name, e.g. <c>images/3f/a2/&lt;task id&gt;.png</c>.</param>
/// <param name="Uri">URI of the blob (https/http for blob storage, file for a local folder).</param>
/// <param name="ContentMd5">Base64 MD5 of the stored bytes, as in the Content-MD5 header.</param>
/// <param name="Outcome">Whether the upload wrote the blob.</param>
public sealed record StoredImage(string BlobName, Uri Uri, string ContentMd5, BlobWriteOutcome Outcome)
{
    /// <summary>
    /// This upload found the container missing and created it: the store was recreated empty (or deleted), so the
    /// images stored before are gone. The worker reports it (<c>BlobContainerRecreated</c>) and the coordinator's blob
    /// audit renders those images again.
    /// </summary>
    public bool ContainerCreated { get; init; }
}
