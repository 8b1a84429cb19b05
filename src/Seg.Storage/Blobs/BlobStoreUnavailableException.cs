namespace Seg.Storage.Blobs;

/// <summary>The blob store could not be reached or written (an I/O or network error): a transient fault, retried.</summary>
public sealed class BlobStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="inner">The I/O or network error.</param>
    public BlobStoreUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
