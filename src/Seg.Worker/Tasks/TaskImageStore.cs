using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.ServiceDefaults;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Storage.Provenance;
using Seg.Worker.Rendering;

namespace Seg.Worker.Tasks;

/// <summary>
/// Stores a rendered task: the PNG to the blob store (named after the task id, idempotent), then the provenance row
/// (one per task, idempotent). Both are safe to repeat, so a redelivered task ends with one blob and one row.
/// </summary>
/// <param name="blobs">The image blob store.</param>
/// <param name="blobOptions">How images are named.</param>
/// <param name="provenance">The provenance writer.</param>
/// <param name="records">Task reads.</param>
/// <param name="publish">Publishes <see cref="BlobContainerRecreated"/> (the consume context's, in a consumer's scope).</param>
/// <param name="time">Clock.</param>
/// <param name="options">Worker options.</param>
/// <param name="logger">Logger.</param>
public sealed partial class TaskImageStore(
    IImageBlobStore blobs,
    IOptions<BlobStorageOptions> blobOptions,
    ProvenanceWriter provenance,
    TaskRecords records,
    IPublishEndpoint publish,
    TimeProvider time,
    IOptions<WorkerOptions> options,
    ILogger<TaskImageStore> logger)
{
    private readonly string _workerId = options.Value.ResolvedWorkerId;

    /// <summary>Uploads the image and records its provenance.</summary>
    /// <param name="task">The task.</param>
    /// <param name="render">The rendered image.</param>
    /// <param name="cancellationToken">Cancels the I/O.</param>
    /// <returns>The provenance row of the task (an earlier attempt's, if it had stored one).</returns>
    public async Task<ImageRecord> StoreAsync(RenderTask task, TaskRenderResult render, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(render);
        var timings = new Dictionary<string, double>(render.StageSeconds);

        StoredImage stored;
        using (var span = SegTelemetry.ActivitySource.StartActivity("seg.upload"))
        {
            span?.SetTag(SegTelemetry.TaskIdTag, task.TaskId.ToString());
            var watch = Stopwatch.StartNew();
            stored = await UploadAsync(task, render.Png, cancellationToken).ConfigureAwait(false);
            timings[Stages.Upload] = watch.Elapsed.TotalSeconds;
            span?.SetTag("seg.blob_name", stored.BlobName);
            span?.SetTag("seg.blob_outcome", stored.Outcome.ToString());
        }

        if (stored.ContainerCreated)
        {
            await ReportContainerCreatedAsync(stored, cancellationToken).ConfigureAwait(false);
        }

        var record = NewRecord(task, render, stored, timings);
        using (var span = SegTelemetry.ActivitySource.StartActivity("seg.provenance"))
        {
            span?.SetTag(SegTelemetry.TaskIdTag, task.TaskId.ToString());
            // Database conventions on the logical operation; Npgsql's own span below it carries the statement.
            span?.SetTag("db.system.name", "postgresql");
            span?.SetTag("db.operation.name", "INSERT");
            span?.SetTag("db.collection.name", "images");
            if (await provenance.TryInsertAsync(record, cancellationToken).ConfigureAwait(false))
            {
                return record;
            }

            // Another attempt stored the row first (it names the same blob): that row is the task's provenance.
            span?.SetTag("seg.provenance_existed", true);
            return await records.FindImageAsync(task.TaskId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"provenance of task {task.TaskId} was neither inserted nor found");
        }
    }

    private async Task<StoredImage> UploadAsync(RenderTask task, byte[] png, CancellationToken cancellationToken)
    {
        var name = ImageBlobNames.For(blobOptions.Value.Naming, task.TaskId, task.TaskIndex, task.Parameters);
        try
        {
            return await blobs.UploadPngAsync(name, png, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new BlobStoreUnavailableException($"blob store: uploading the image of task {task.TaskId} failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Tells the coordinator that the container was created by this upload, so that its blob audit renders again the
    /// images that went with the old one. Best effort: a lost event is made up by the coordinator's check at start and
    /// its periodic audit (<c>Coordinator:BlobAuditIntervalSeconds</c>); it must not fail the task whose image is stored.
    /// </summary>
    private async Task ReportContainerCreatedAsync(StoredImage stored, CancellationToken cancellationToken)
    {
        var container = blobOptions.Value.ContainerName;
        LogContainerCreated(container, stored.BlobName);
        try
        {
            await publish.Publish(new BlobContainerRecreated(_workerId, container, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReportFailed(e, container);
        }
    }

    // Information: a new farm's first upload creates the container too; the coordinator's audit warns when images were lost.
    [LoggerMessage(Level = LogLevel.Information,
        Message = "The image container {Container} did not exist and was created (upload of {BlobName}); asking the coordinator to audit the store for images lost with an earlier one")]
    private partial void LogContainerCreated(string container, string blobName);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reporting the recreated container {Container} to the coordinator failed; its periodic blob audit will find the lost images")]
    private partial void LogReportFailed(Exception exception, string container);

    private ImageRecord NewRecord(RenderTask task, TaskRenderResult render, StoredImage stored, IReadOnlyDictionary<string, double> timings)
    {
        var p = task.Parameters;
        return new ImageRecord
        {
            TaskId = task.TaskId,
            SweepId = task.SweepId,
            ParametersJson = JsonSerializer.Serialize(p),
            Parameters = p,
            ModelFileHashesJson = JsonSerializer.Serialize(render.ModelFileHashes),
            PatchVersion = render.PatchVersion,
            SoftwareVersion = WorkerVersion.Current,
            WorkerId = _workerId,
            WorkerHost = Environment.MachineName,
            Device = render.Device,
            OnnxRuntimeVersion = render.OnnxRuntimeVersion,
            ExecutionProvider = render.ExecutionProvider,
            TimingsJson = JsonSerializer.Serialize(timings),
            ImageSha256 = Convert.ToHexStringLower(SHA256.HashData(render.Png)),
            BlobName = stored.BlobName,
            BlobUri = stored.Uri.ToString(),
            ImageWidth = render.Width,
            ImageHeight = render.Height,
            ImageBytes = render.Png.Length,
            // A sampled trace only: an unsampled one is in no backend to link to.
            TraceId = Activity.Current is { Recorded: true } current ? current.TraceId.ToHexString() : null,
        };
    }
}
