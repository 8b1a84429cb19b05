using System.Security.Cryptography;
using System.Text;

namespace Seg.Storage.Blobs;

/// <summary>
/// Blob names derived from the task id alone, so a redelivered task writes the same blob.
/// </summary>
public static class ImageBlobNames
{
    /// <summary>
    /// <c>images/ab/cd/&lt;task id&gt;.png</c>, where <c>abcd</c> are the first two bytes (hex) of the
    /// SHA-256 of the task id written as lower-case "D" text (reproducible anywhere:
    /// <c>printf %s ID | sha256sum</c>). The prefix spreads names evenly over partitions and folders even
    /// when ids are sequential (e.g. UUIDv7).
    /// </summary>
    /// <param name="taskId">Task id.</param>
    /// <returns>The blob name.</returns>
    public static string ForTask(Guid taskId) => Named("images", taskId, "png");

    /// <summary>The thumbnail of a task: <c>thumbnails/ab/cd/&lt;task id&gt;.jpg</c>, with the prefix of <see cref="ForTask"/>.</summary>
    /// <param name="taskId">Task id.</param>
    /// <returns>The blob name.</returns>
    public static string ThumbnailForTask(Guid taskId) => Named("thumbnails", taskId, "jpg");

    private static string Named(string folder, Guid taskId, string extension)
    {
        var id = taskId.ToString("D");
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.ASCII.GetBytes(id), hash);
        return $"{folder}/{hash[0]:x2}/{hash[1]:x2}/{id}.{extension}";
    }
}
