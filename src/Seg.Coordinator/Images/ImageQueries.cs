using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Storage;

namespace Seg.Coordinator.Images;

/// <summary>The provenance of one image, as the API lists it.</summary>
/// <param name="TaskId">The task that made it.</param>
/// <param name="TaskIndex">The task's index in the sweep's expansion.</param>
/// <param name="Prompt">Prompt.</param>
/// <param name="NegativePrompt">Negative prompt.</param>
/// <param name="Seed">Seed.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Steps">Denoising steps.</param>
/// <param name="Scheduler">Scheduler.</param>
/// <param name="GuidanceScale">CFG scale.</param>
/// <param name="SegScale">SEG scale.</param>
/// <param name="SegLayers">SEG layers.</param>
/// <param name="Parameters">Every resolved parameter, as recorded (<c>seg_blur_sigma</c> is <c>"inf"</c> for the infinite blur).</param>
/// <param name="ModelName">Model.</param>
/// <param name="WorkerId">Worker that rendered it.</param>
/// <param name="Device">Device.</param>
/// <param name="ExecutionProvider">ONNX Runtime execution provider.</param>
/// <param name="ImageSha256">SHA-256 of the PNG.</param>
/// <param name="ImageBytes">PNG size in bytes.</param>
/// <param name="BlobName">The PNG's name in the farm's blob container (the storage endpoint is not shown).</param>
/// <param name="ImageUrl">Where the coordinator serves the PNG.</param>
/// <param name="CreatedAt">When it was stored.</param>
public sealed record ImageView(
    Guid TaskId,
    int TaskIndex,
    string Prompt,
    string NegativePrompt,
    long Seed,
    int Width,
    int Height,
    int Steps,
    string Scheduler,
    double GuidanceScale,
    double SegScale,
    string SegLayers,
    JsonElement Parameters,
    string ModelName,
    string WorkerId,
    string Device,
    string ExecutionProvider,
    string ImageSha256,
    long ImageBytes,
    string BlobName,
    string ImageUrl,
    DateTimeOffset CreatedAt);

/// <summary>One page of a sweep's images, in task order.</summary>
/// <param name="Items">The images on this page.</param>
/// <param name="Page">Page number, from 1.</param>
/// <param name="PageSize">Images per page.</param>
/// <param name="Total">Images of the sweep so far.</param>
public sealed record ImagePage(IReadOnlyList<ImageView> Items, int Page, int PageSize, int Total);

/// <summary>Reads image provenance rows.</summary>
/// <param name="db">Database context (scoped).</param>
public sealed class ImageQueries(SegDbContext db)
{
    /// <summary>One page of a sweep's images in task order.</summary>
    /// <param name="sweepId">The sweep.</param>
    /// <param name="page">Page number, from 1.</param>
    /// <param name="pageSize">Images per page.</param>
    /// <param name="imageUrl">The coordinator URL of a task's image.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<ImagePage> ListAsync(Guid sweepId, int page, int pageSize, Func<Guid, string> imageUrl, CancellationToken cancellationToken)
    {
        var images = db.Images.AsNoTracking().Where(i => i.SweepId == sweepId);
        var total = await images.CountAsync(cancellationToken).ConfigureAwait(false);
        var rows = await images
            .Join(db.RenderTasks, i => i.TaskId, t => t.Id, (image, task) => new { image, task.TaskIndex })
            .OrderBy(x => x.TaskIndex)
            .Skip((page - 1) * pageSize).Take(pageSize)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new ImagePage([.. rows.Select(row =>
        {
            var i = row.image;
            var p = i.Parameters;
            using var parameters = JsonDocument.Parse(i.ParametersJson);
            return new ImageView(
                i.TaskId, row.TaskIndex, p.Prompt, p.NegativePrompt, p.Seed, p.Width, p.Height, p.Steps, p.Scheduler,
                p.GuidanceScale, p.SegScale, p.SegLayers, parameters.RootElement.Clone(), p.Model, i.WorkerId, i.Device,
                i.ExecutionProvider, i.ImageSha256, i.ImageBytes, i.BlobName, imageUrl(i.TaskId), i.CreatedAt);
        })], page, pageSize, total);
    }

    /// <summary>The blob name of a task's image, or null when the task has no image.</summary>
    /// <param name="taskId">The task.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public Task<string?> BlobNameAsync(Guid taskId, CancellationToken cancellationToken) =>
        db.Images.AsNoTracking().Where(i => i.TaskId == taskId).Select(i => (string?)i.BlobName).FirstOrDefaultAsync(cancellationToken);
}
