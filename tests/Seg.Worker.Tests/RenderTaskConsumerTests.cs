using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Worker.Rendering;
using Seg.Worker.Tasks;
using Seg.Worker.Tests.Infrastructure;

namespace Seg.Worker.Tests;

/// <summary>
/// The consumer on MassTransit's in-memory harness against the real PostgreSQL and Azurite, rendering with the tiny
/// model on the CPU.
/// </summary>
public sealed class RenderTaskConsumerTests(WorkerTestEnvironment environment) : IClassFixture<WorkerTestEnvironment>
{
    [Fact]
    public async Task A_task_renders_to_one_blob_one_complete_provenance_row_and_a_succeeded_event()
    {
        using var spans = new SpanRecorder();
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 42)))[0];

        await worker.SendAndWaitAsync(task);

        await using var db = environment.CreateContext();
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal(RenderTaskStatus.Succeeded, row.Status);
        Assert.Equal(1, row.Attempts);
        Assert.Equal("test-worker", row.WorkerId);
        Assert.True(row.GpuSeconds > 0, $"gpu_seconds {row.GpuSeconds}");

        var image = await db.Images.AsNoTracking().SingleAsync(i => i.TaskId == task.TaskId);
        var blobs = await ListBlobsAsync(task.TaskId);
        var blob = Assert.Single(blobs);
        Assert.Equal(ImageBlobNames.ForTask(task.TaskId), blob);
        var png = (await environment.Container.GetBlobClient(blob).DownloadContentAsync()).Value.Content.ToArray();

        // Every provenance field of DESIGN section 5.
        var p = task.Parameters;
        Assert.Equal(task.SweepId, image.SweepId);
        // Every parameter has its column, and the columns hold the task's parameters.
        Assert.Equal(p, image.Parameters);
        Assert.Equal(p, JsonSerializer.Deserialize<RenderParameters>(image.ParametersJson));
        Assert.Equal("tiny", image.Parameters.Model);
        var hashes = JsonSerializer.Deserialize<Dictionary<string, string>>(image.ModelFileHashesJson)!;
        var unet = Path.Combine(environment.CacheFolder, "models");
        var unetFile = Directory.GetFiles(unet, "model.onnx", SearchOption.AllDirectories).Single(f => f.Contains("/unet/", StringComparison.Ordinal));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(unetFile))), hashes["unet/model.onnx"]);
        Assert.Contains("text_encoder/model.onnx", hashes.Keys);
        Assert.Contains("text_encoder_2/model.onnx", hashes.Keys);
        Assert.Contains("vae_decoder/model.onnx", hashes.Keys);
        Assert.False(string.IsNullOrWhiteSpace(image.PatchVersion));
        Assert.NotEqual("none", image.PatchVersion);
        Assert.Equal(SdxlPipeline.SoftwareVersion, image.SoftwareVersion);
        Assert.Equal("test-worker", image.WorkerId);
        Assert.Equal(Environment.MachineName, image.WorkerHost);
        Assert.Equal("cpu", image.Device);
        Assert.Equal(Seg.Pipeline.Runtime.OnnxSessionFactory.OnnxRuntimeVersion, image.OnnxRuntimeVersion);
        Assert.Equal("CPUExecutionProvider", image.ExecutionProvider);
        var timings = JsonSerializer.Deserialize<Dictionary<string, double>>(image.TimingsJson)!;
        foreach (var stage in new[] { Stages.EncodePrompt, Stages.Denoise, Stages.UNet, Stages.Decode, Stages.Device, Stages.Upload })
        {
            Assert.True(timings.TryGetValue(stage, out var seconds) && seconds > 0, $"stage {stage}: {image.TimingsJson}");
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(png)), image.ImageSha256);
        Assert.Equal(png.Length, image.ImageBytes);
        Assert.Equal(blob, image.BlobName);
        Assert.Equal(environment.Container.GetBlobClient(blob).Uri.ToString(), image.BlobUri);
        Assert.Equal((64, 64), (image.ImageWidth, image.ImageHeight));
        Assert.True(image.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-5));

        // The PNG carries the pipeline's provenance and the task's entry.
        var provenance = RenderProvenance.FromPng(png)!;
        Assert.Equal((42L, "a photo of a cat", double.PositiveInfinity), (provenance.Parameters.Seed, provenance.Parameters.Prompt, provenance.Parameters.SegBlurSigma));
        var entry = TaskPngText.Read(png)!;
        Assert.Equal((task.TaskId, task.SweepId, task.TaskIndex, "pipeline"), (entry.TaskId, entry.SweepId, entry.TaskIndex, entry.RenderMode));
        Assert.Equal(hashes, entry.ModelFileHashes);
        Assert.Equal((64, 64), (PngImageEncoder.DecodeRgb(png).Width, PngImageEncoder.DecodeRgb(png).Height));

        var succeeded = Assert.Single(worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId));
        Assert.Equal((task.SweepId, image.BlobUri, image.ImageSha256, "test-worker", "cpu"),
            (succeeded.SweepId, succeeded.BlobUri.ToString(), succeeded.ImageSha256, succeeded.Worker, succeeded.Device));
        Assert.Equal(row.GpuSeconds, succeeded.GpuSeconds, 9);
        Assert.Equal(timings, succeeded.StageSeconds);
        Assert.Empty(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));

        // One span per task with children for render, upload and provenance.
        var root = spans.Single("seg.render_task", task.TaskId);
        Assert.Equal("Started", root.GetTagItem("seg.start"));
        Assert.Equal("succeeded", root.GetTagItem("seg.outcome"));
        foreach (var child in new[] { "seg.render", "seg.upload", "seg.provenance" })
        {
            Assert.Single(spans.Completed, a => a.OperationName == child && a.ParentSpanId == root.SpanId);
        }
    }

    [Fact]
    public async Task A_redelivered_finished_task_is_acknowledged_without_rendering_again()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 7)))[0];
        await worker.SendAndWaitAsync(task);
        await using var db = environment.CreateContext();
        var first = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        var firstImage = await db.Images.AsNoTracking().SingleAsync(i => i.TaskId == task.TaskId);
        var firstBlob = await environment.Container.GetBlobClient(ImageBlobNames.ForTask(task.TaskId)).GetPropertiesAsync();

        await worker.SendAndWaitAsync(task);

        Assert.Equal(1, worker.Renders.Count);
        Assert.Single(await ListBlobsAsync(task.TaskId));
        Assert.Equal(1, await db.Images.CountAsync(i => i.TaskId == task.TaskId));
        var again = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal((RenderTaskStatus.Succeeded, first.Attempts, first.FinishedAt, first.GpuSeconds), (again.Status, again.Attempts, again.FinishedAt, again.GpuSeconds));
        Assert.Equal(firstImage.CreatedAt, (await db.Images.AsNoTracking().SingleAsync(i => i.TaskId == task.TaskId)).CreatedAt);
        Assert.Equal(firstBlob.Value.ETag, (await environment.Container.GetBlobClient(ImageBlobNames.ForTask(task.TaskId)).GetPropertiesAsync()).Value.ETag);

        // The success event is repeated (an earlier attempt may have ended before publishing it), with the same facts.
        var events = worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId);
        Assert.Equal(2, events.Count);
        Assert.Equal(events[0].ImageSha256, events[1].ImageSha256);
        Assert.Equal(first.GpuSeconds, events[1].GpuSeconds, 9);
    }

    [Fact]
    public async Task A_task_whose_image_was_stored_before_a_crash_finishes_from_it_without_rendering()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 8)))[0];
        await worker.SendAndWaitAsync(task);
        await using var db = environment.CreateContext();
        // The crash: blob and provenance stored, then the worker died before marking the task. Its redelivery
        // would take the task over; the harness cannot flag a message redelivered, so the row is put back to
        // queued, as a release would leave it.
        await db.RenderTasks.Where(t => t.Id == task.TaskId).ExecuteUpdateAsync(s => s
            .SetProperty(t => t.Status, RenderTaskStatus.Queued)
            .SetProperty(t => t.WorkerId, "dead-worker")
            .SetProperty(t => t.GpuSeconds, 0.0));
        var image = await db.Images.AsNoTracking().SingleAsync(i => i.TaskId == task.TaskId);

        await worker.SendAndWaitAsync(task);

        Assert.Equal(1, worker.Renders.Count);
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal(RenderTaskStatus.Succeeded, row.Status);
        var gpuSeconds = JsonSerializer.Deserialize<Dictionary<string, double>>(image.TimingsJson)![Stages.Device];
        Assert.Equal(gpuSeconds, row.GpuSeconds, 9);
        Assert.Single(await ListBlobsAsync(task.TaskId));
        var events = worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(image.ImageSha256, e.ImageSha256));
    }

    [Fact]
    public async Task A_missing_model_folder_fails_the_task_permanently_naming_the_model_without_retry()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(model: "sdxl-base-1.0")))[0];

        await worker.SendAndWaitAsync(task);

        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.True(failed.Permanent);
        Assert.Contains("model 'sdxl-base-1.0' not found", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(environment.ModelRoot, failed.Reason, StringComparison.Ordinal); // no host path in the database
        Assert.Equal(("test-worker", 1), (failed.Worker, failed.Attempt));
        await AssertFailedAsync(task, failed.Reason);
        Assert.Equal((1, 1), (worker.ConsumedCount(task.TaskId), worker.Renders.Count));
        Assert.Empty(worker.Published<Fault<RenderTask>>(_ => true));
        Assert.Empty(await ListBlobsAsync(task.TaskId));
    }

    [Fact]
    public async Task A_model_name_that_leaves_the_model_root_fails_permanently()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(model: "../cache")))[0];

        await worker.SendAndWaitAsync(task);

        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.True(failed.Permanent);
        Assert.Contains("must name a folder under the model root: no '..' segment", failed.Reason, StringComparison.Ordinal);
        await AssertFailedAsync(task, failed.Reason);
    }

    [Fact]
    public async Task A_layer_index_the_model_lacks_fails_permanently_naming_it()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(layers: "m0,m7")))[0];

        await worker.SendAndWaitAsync(task);

        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.True(failed.Permanent);
        Assert.StartsWith("seg_layers: m7 is out of range", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", failed.Reason, StringComparison.Ordinal);
        await AssertFailedAsync(task, failed.Reason);
        Assert.Equal((1, 1), (worker.ConsumedCount(task.TaskId), worker.Renders.Count));
        Assert.Empty(worker.Published<Fault<RenderTask>>(_ => true));
    }

    [Fact]
    public async Task Invalid_parameters_fail_permanently_with_every_broken_rule_before_any_render()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny() with { Steps = 0, Width = 60 }))[0];

        await worker.SendAndWaitAsync(task);

        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.True(failed.Permanent);
        Assert.Contains("width must be a multiple of 8 between 64 and 4096 (got 60)", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("steps must be between 1 and 1000 (got 0)", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(0, worker.Renders.Count);
        await AssertFailedAsync(task, failed.Reason);
    }

    [Fact]
    public async Task A_task_out_of_attempts_fails_permanently_without_rendering()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, maxAttempts: 2, TestTasks.Tiny()))[0];
        await using var db = environment.CreateContext();
        await db.RenderTasks.Where(t => t.Id == task.TaskId).ExecuteUpdateAsync(s => s.SetProperty(t => t.Attempts, 2));

        await worker.SendAndWaitAsync(task);

        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.True(failed.Permanent);
        Assert.Equal("attempts exhausted (2 of max_attempts 2)", failed.Reason);
        Assert.Equal(0, worker.Renders.Count);
        await AssertFailedAsync(task, failed.Reason);
    }

    [Fact]
    public async Task A_task_running_on_another_worker_is_acknowledged_and_left_alone()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny()))[0];
        await using var db = environment.CreateContext();
        await db.RenderTasks.Where(t => t.Id == task.TaskId).ExecuteUpdateAsync(s => s
            .SetProperty(t => t.Status, RenderTaskStatus.Running)
            .SetProperty(t => t.WorkerId, "other-worker")
            .SetProperty(t => t.Attempts, 1));

        await worker.SendAndWaitAsync(task);

        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal((RenderTaskStatus.Running, "other-worker", 1), (row.Status, row.WorkerId, row.Attempts));
        Assert.Equal(0, worker.Renders.Count);
        Assert.Empty(worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId));
        Assert.Empty(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
    }

    [Fact]
    public async Task A_transient_blob_fault_is_retried_in_place_without_counting_an_attempt()
    {
        var uploads = 0;
        FlakyBlobStore? flaky = null;
        await using var worker = await HarnessWorker.StartAsync(environment,
            wrapBlobs: inner => flaky = new FlakyBlobStore(inner, n => n <= 2 ? new RequestFailedException(503, "Server Busy") : null));
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 11)))[0];

        await worker.SendAndWaitAsync(task);
        uploads = flaky!.Uploads;

        Assert.Equal(3, uploads);
        Assert.Equal(1, worker.Renders.Count);
        Assert.Equal(1, worker.ConsumedCount(task.TaskId));
        await using var db = environment.CreateContext();
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal((RenderTaskStatus.Succeeded, 1), (row.Status, row.Attempts));
        Assert.Single(await ListBlobsAsync(task.TaskId));
        Assert.Single(worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId));
        Assert.Empty(worker.Published<Fault<RenderTask>>(f => f.Message.TaskId == task.TaskId));
        Assert.Equal(0, worker.Services.GetRequiredService<PendingRenders>().Count);
    }

    [Fact]
    public async Task A_container_deleted_under_the_worker_is_created_again_and_reported_to_the_coordinator()
    {
        await using var worker = await HarnessWorker.StartAsync(environment);
        var tasks = await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 21), TestTasks.Tiny(seed: 22));
        await worker.SendAndWaitAsync(tasks[0]);
        var before = worker.Published<BlobContainerRecreated>(_ => true).Count;

        // The blob store restarted empty: the first task's image is gone with the container.
        await environment.Container.DeleteAsync();
        await worker.SendAndWaitAsync(tasks[1]);

        var reported = Assert.Single(worker.Published<BlobContainerRecreated>(_ => true).Skip(before));
        Assert.Equal((environment.ContainerName, "test-worker"), (reported.ContainerName, reported.WorkerId));
        Assert.Single(await ListBlobsAsync(tasks[1].TaskId));
        await using var db = environment.CreateContext();
        Assert.Equal(RenderTaskStatus.Succeeded, (await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == tasks[1].TaskId)).Status);
    }

    [Fact]
    public async Task Transient_faults_beyond_the_in_place_retries_are_waited_out_by_a_redelivery_that_refunds_the_attempt()
    {
        FlakyBlobStore? flaky = null;
        await using var worker = await HarnessWorker.StartAsync(environment,
            settings: s =>
            {
                s["Worker:Retry:Limit"] = "2";
                s["Worker:Retry:RedeliveryMinSeconds"] = "0.2";
            },
            wrapBlobs: inner => flaky = new FlakyBlobStore(inner, n => n <= 4 ? new IOException("connection reset by peer") : null));
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 12)))[0];

        await worker.SendAndWaitAsync(task);
        await Wait.UntilAsync(() => Task.FromResult(worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId).Count == 1), "success published");

        // Three tries in place, a redelivery (the message sent again), two more tries: the fifth upload succeeds.
        Assert.Equal(5, flaky!.Uploads);
        Assert.Equal(2, worker.ConsumedCount(task.TaskId));
        Assert.Empty(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.Empty(worker.Published<Fault<RenderTask>>(f => f.Message.TaskId == task.TaskId));
        Assert.Single(await ListBlobsAsync(task.TaskId));
        await using var db = environment.CreateContext();
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        // The outage was not the task's: the attempt it cost was given back before the redelivery counted one.
        Assert.Equal((RenderTaskStatus.Succeeded, 1), (row.Status, row.Attempts));
    }

    [Fact]
    public async Task An_unexpected_error_is_not_retried_and_faults_the_message()
    {
        await using var worker = await HarnessWorker.StartAsync(environment,
            wrapBlobs: inner => new FlakyBlobStore(inner, _ => new InvalidOperationException("blob 'x' kept changing")));
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 13)))[0];

        await worker.SendAndWaitAsync(task);
        await Wait.UntilAsync(() => Task.FromResult(worker.Published<Fault<RenderTask>>(f => f.Message.TaskId == task.TaskId).Count == 1), "fault published");

        Assert.Equal(1, worker.Renders.Count);
        var failed = Assert.Single(worker.Published<RenderTaskFailed>(m => m.TaskId == task.TaskId));
        Assert.False(failed.Permanent);
        Assert.Equal("InvalidOperationException: blob 'x' kept changing", failed.Reason);
    }

    private async Task AssertFailedAsync(RenderTask task, string reason)
    {
        await using var db = environment.CreateContext();
        var row = await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal((RenderTaskStatus.Failed, reason), (row.Status, row.LastError));
        Assert.NotNull(row.FinishedAt);
        Assert.False(await db.Images.AnyAsync(i => i.TaskId == task.TaskId));
    }

    private async Task<List<string>> ListBlobsAsync(Guid taskId)
    {
        var names = new List<string>();
        if (!(await environment.Container.ExistsAsync()).Value)
        {
            return names;
        }

        await foreach (var item in environment.Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: null, CancellationToken.None))
        {
            if (item.Name.Contains(taskId.ToString("D"), StringComparison.Ordinal))
            {
                names.Add(item.Name);
            }
        }

        return names;
    }
}

/// <summary>Records the spans of the <c>Seg</c> activity source while alive.</summary>
public sealed class SpanRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Activity> _completed = new();

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Seg.ServiceDefaults.SegTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _completed.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Completed => _completed.ToList();

    public Activity Single(string name, Guid taskId) =>
        Assert.Single(Completed, a => a.OperationName == name && Equals(a.GetTagItem(Seg.ServiceDefaults.SegTelemetry.TaskIdTag), taskId.ToString()));

    public void Dispose() => _listener.Dispose();
}
