using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Seg.Contracts.Messages;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Seg.Storage.Entities;
using Seg.Worker.Heartbeats;
using Seg.Worker.Rendering;
using Seg.Worker.Tasks;
using Seg.Worker.Tests.Infrastructure;

namespace Seg.Worker.Tests;

/// <summary>Fake render mode and heartbeats, on the in-memory harness with the real PostgreSQL and Azurite.</summary>
public sealed class FakeModeAndHeartbeatTests(WorkerTestEnvironment environment) : IClassFixture<WorkerTestEnvironment>
{
    [Fact]
    public async Task Fake_mode_stores_a_small_deterministic_png_marked_fake_without_onnx_or_a_model_folder()
    {
        await using var worker = await HarnessWorker.StartAsync(environment, s =>
        {
            s["Worker:RenderMode"] = "fake";
            s["Worker:CpuSlots"] = "2";
        });
        // The same parameters in two tasks; the model folder does not exist (fake mode never opens it).
        var tasks = await TestTasks.InsertAsync(environment, TestTasks.Tiny(model: "sdxl-base"), TestTasks.Tiny(model: "sdxl-base"));

        foreach (var task in tasks)
        {
            await worker.SendAndWaitAsync(task);
        }

        await using var db = environment.CreateContext();
        var pixels = new List<byte[]>();
        foreach (var task in tasks)
        {
            Assert.Equal(RenderTaskStatus.Succeeded, (await db.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId)).Status);
            var image = await db.Images.AsNoTracking().SingleAsync(i => i.TaskId == task.TaskId);
            Assert.Equal(("fake", "fake", "fake", "{}", "cpu"), (image.ExecutionProvider, image.PatchVersion, image.OnnxRuntimeVersion, image.ModelFileHashesJson, image.Device));
            Assert.Equal(("sdxl-base", 64, 64, 64, 64), (image.Parameters.Model, image.Parameters.Width, image.Parameters.Height, image.ImageWidth, image.ImageHeight));
            var png = (await environment.Container.GetBlobClient(image.BlobName).DownloadContentAsync()).Value.Content.ToArray();
            Assert.Equal("fake", TaskPngText.Read(png)!.RenderMode);
            Assert.Equal(task.TaskId, TaskPngText.Read(png)!.TaskId);
            Assert.Equal("fake", RenderProvenance.FromPng(png)!.ExecutionProvider);
            var decoded = PngImageEncoder.DecodeRgb(png);
            Assert.Equal((FakeTaskRenderer.Size, FakeTaskRenderer.Size), (decoded.Width, decoded.Height));
            pixels.Add(decoded.Rgb);
            Assert.Single(worker.Published<RenderTaskSucceeded>(m => m.TaskId == task.TaskId));
        }

        Assert.Equal(pixels[0], pixels[1]);
        Assert.True(pixels[0].Distinct().Count() > 16, "a gradient, not a flat image");

        var heartbeat = worker.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single().Current();
        Assert.Equal(("fake", 2L, 2), (heartbeat.RenderMode, heartbeat.TasksDone, heartbeat.Slots));
        Assert.True(heartbeat.ThroughputPerMinute > 0);
        Assert.Equal("fake", JsonSerializer.Deserialize<WorkerHeartbeat>(JsonSerializer.Serialize(heartbeat))!.RenderMode);
        Assert.Equal(0, worker.Services.GetRequiredService<PendingRenders>().Count);
    }

    [Fact]
    public async Task Heartbeats_are_published_every_interval_with_the_workers_state()
    {
        await using var worker = await HarnessWorker.StartAsync(environment, s =>
        {
            s["Worker:WorkerId"] = "beating-worker";
            s["Worker:CpuSlots"] = "3";
            s["Heartbeat:IntervalSeconds"] = "0.2";
        });
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 5)))[0];

        // The host (here the harness) starts the heartbeat service with the bus.
        await worker.SendAndWaitAsync(task);
        await Wait.UntilAsync(() => Task.FromResult(worker.Published<WorkerHeartbeat>(h => h.WorkerId == "beating-worker" && h.TasksDone == 1).Count >= 2),
            "two heartbeats after the task");

        var beats = worker.Published<WorkerHeartbeat>(h => h.WorkerId == "beating-worker");
        Assert.Contains(beats, b => b.TasksDone == 0 && b.BusySlots == 1);
        var last = beats[^1];
        Assert.Equal((Environment.MachineName, 3, 0, 1L, "pipeline"), (last.Host, last.Slots, last.BusySlots, last.TasksDone, last.RenderMode));
        Assert.Equal(["cpu"], last.Devices);
        Assert.Equal(["tiny"], last.ModelsCached);
        Assert.Equal(SdxlPipeline.SoftwareVersion, last.Version);
        Assert.True(last.ThroughputPerMinute > 0);
    }
}
