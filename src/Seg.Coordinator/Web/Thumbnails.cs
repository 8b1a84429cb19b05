using Microsoft.Extensions.Options;
using Seg.Coordinator.Images;
using Seg.Storage.Blobs;
using SkiaSharp;

namespace Seg.Coordinator.Web;

/// <summary>
/// Thumbnails made once: on the first request for a task's thumbnail the PNG is read, scaled down (SkiaSharp, a
/// Mitchell cubic filter) and stored beside it as JPEG (<see cref="IThumbnailStore"/>); later requests read the stored one.
/// </summary>
/// <param name="images">The PNGs.</param>
/// <param name="imageRows">The provenance rows, which name each PNG's blob.</param>
/// <param name="thumbnails">Where thumbnails are kept.</param>
/// <param name="options">Thumbnail size and quality.</param>
public sealed class Thumbnails(IImageBlobStore images, ImageQueries imageRows, IThumbnailStore thumbnails, IOptions<WebOptions> options)
{
    /// <summary>The thumbnail of a task (JPEG bytes), made and stored on first use.</summary>
    /// <exception cref="FileNotFoundException">The task has no image.</exception>
    public async Task<byte[]> GetAsync(Guid taskId, CancellationToken cancellationToken)
    {
        if (await thumbnails.ReadThumbnailAsync(taskId, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return stored;
        }

        var blobName = await imageRows.BlobNameAsync(taskId, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"task {taskId} has no image");
        byte[] png;
        var stream = await images.OpenReadAsync(blobName, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            png = buffer.ToArray();
        }

        var jpeg = Make(png, options.Value.ThumbnailSize, options.Value.ThumbnailQuality);
        await thumbnails.WriteThumbnailAsync(taskId, jpeg, cancellationToken).ConfigureAwait(false);
        return jpeg;
    }

    /// <summary>A JPEG of <paramref name="png"/> whose longest side is at most <paramref name="size"/> pixels.</summary>
    internal static byte[] Make(byte[] png, int size, int quality)
    {
        using var source = SKBitmap.Decode(png) ?? throw new InvalidDataException("the stored image is not a readable PNG");
        var scale = Math.Min(1.0, (double)size / Math.Max(source.Width, source.Height));
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(source.Width * scale)), Math.Max(1, (int)Math.Round(source.Height * scale)));
        using var scaled = source.Resize(info, new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException("the stored image could not be scaled");
        using var image = SKImage.FromBitmap(scaled);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }
}
