using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Seg.Parameters;

namespace Seg.Storage.Blobs;

/// <summary>How images are named in the store (<c>BlobStorage:Naming</c>).</summary>
public enum ImageBlobNaming
{
    /// <summary><c>images/ab/cd/&lt;task id&gt;.png</c>: spread over partitions, for blob storage (the default).</summary>
    TaskId,

    /// <summary>
    /// <c>0003-seed2-sigma1-seg3-cfg5.png</c> (task index, seed, SEG sigma, SEG scale, guidance scale), in one folder:
    /// for a person browsing a standalone run. The task id stays in the PNG's provenance and the database.
    /// </summary>
    Readable,
}

/// <summary>
/// Blob names derived from the task alone (its id, or its index and parameters, which never change), so a
/// redelivered task writes the same blob.
/// </summary>
public static class ImageBlobNames
{
    /// <summary>The name of a task's image under <paramref name="naming"/>.</summary>
    /// <param name="naming">The naming scheme.</param>
    /// <param name="taskId">Task id.</param>
    /// <param name="taskIndex">The task's index in the sweep.</param>
    /// <param name="parameters">The task's parameters.</param>
    /// <returns>The blob name.</returns>
    public static string For(ImageBlobNaming naming, Guid taskId, long taskIndex, RenderParameters parameters) => naming switch
    {
        ImageBlobNaming.Readable => Readable(taskIndex, parameters),
        _ => ForTask(taskId),
    };

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

    /// <summary>
    /// <c>0003-seed2-sigma1-seg3-cfg5.png</c>: the task index (four digits at least, so that names sort in sweep
    /// order), the seed, the SEG blur sigma (<c>inf</c> for the infinite blur), the SEG scale and the guidance scale.
    /// The index alone makes it unique in a sweep; the rest tells a person which image it is.
    /// </summary>
    /// <param name="taskIndex">The task's index in the sweep.</param>
    /// <param name="parameters">The task's parameters.</param>
    /// <returns>The file name.</returns>
    public static string Readable(long taskIndex, RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return string.Create(CultureInfo.InvariantCulture,
            $"{taskIndex:D4}-seed{parameters.Seed}-sigma{SegBlurSigma.Format(parameters.SegBlurSigma)}-seg{parameters.SegScale:0.###}-cfg{parameters.GuidanceScale:0.###}.png");
    }
}
