using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Coordinator.Images;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Workers;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Storage.Provenance;
using Seg.Storage.Workers;

namespace Seg.Coordinator.Tests.Sqlite;

/// <summary>On SQLite: heartbeats and the workers query, stuck tasks, and image provenance.</summary>
public sealed class SqliteMonitoringTests(DefaultSqliteFixture app) : IClassFixture<DefaultSqliteFixture>
{
    // A 1x1 PNG.
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    [Fact]
    public async Task Heartbeats_upsert_the_worker_and_silent_workers_turn_stale()
    {
        await app.Worker.HeartbeatAsync("worker-hb", 1, 0, "tiny-sdxl");
        await app.Worker.HeartbeatAsync("worker-hb", 2, 1, "tiny-sdxl", "sdxl-base"); // the second one updates the row
        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<WorkerHeartbeatWriter>().UpsertAsync(new WorkerRecord
            {
                WorkerId = "worker-gone",
                Host = "old-pod",
                Slots = 1,
                LastHeartbeatAt = DateTimeOffset.UtcNow.AddMinutes(-5), // 10 s interval: stale after 30 s
            }, CancellationToken.None);
        }

        IReadOnlyList<WorkerView> workers = [];
        await CoordinatorFixture.EventuallyAsync(async () =>
        {
            workers = await app.WithAsync<WorkerQueries, IReadOnlyList<WorkerView>>(q => q.ListAsync(CancellationToken.None));
            return workers.Any(w => w.WorkerId == "worker-hb" && w.Slots == 2);
        }, "worker-hb's second heartbeat stored");

        Assert.Equal(1, await app.WithDbAsync(db => db.Workers.CountAsync(w => w.WorkerId == "worker-hb")));
        var live = workers.Single(w => w.WorkerId == "worker-hb");
        Assert.Equal(WorkerHealth.Healthy, live.Health);
        Assert.Equal("worker-hb-host", live.Host);
        Assert.Equal(["cuda:0", "cuda:1"], live.Devices);
        Assert.Equal((2, 1, 7.5, 42L), (live.Slots, live.Busy, live.ImagesPerMinute, live.TasksDone));
        Assert.Equal(["tiny-sdxl", "sdxl-base"], live.ModelsCached);
        Assert.InRange(live.SecondsSinceHeartbeat, 0, 30);
        Assert.True(live.FirstSeenAt <= live.LastHeartbeatAt);

        var gone = workers.Single(w => w.WorkerId == "worker-gone");
        Assert.Equal(WorkerHealth.Stale, gone.Health);
        Assert.InRange(gone.SecondsSinceHeartbeat, 299, 400);
    }

    [Fact]
    public async Task A_task_running_far_longer_than_the_sweeps_median_is_reported_stuck()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [stuck]\nseeds: [1, 2, 3]\n");
        var sent = await app.Inbox.TakeAsync(3);
        await app.Worker.SucceedAsync(sent[0]);
        await app.Worker.StartAsync(sent[1].TaskId, "worker-slow");
        await app.Worker.StartAsync(sent[2].TaskId, "worker-ok");
        var now = DateTimeOffset.UtcNow;
        await app.WithDbAsync(async db =>
        {
            // Renders of this sweep take 20 s; one task has run for two hours (past the 600 s floor), one for 10 s.
            await db.RenderTasks.Where(t => t.Id == sent[0].TaskId)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddSeconds(-100)).SetProperty(t => t.FinishedAt, now.AddSeconds(-80)));
            await db.RenderTasks.Where(t => t.Id == sent[1].TaskId).ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddHours(-2)));
            return await db.RenderTasks.Where(t => t.Id == sent[2].TaskId).ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddSeconds(-10)));
        });

        var detail = await app.SummaryAsync(sweep, detail: true);
        var stuck = Assert.Single(detail.StuckTasks!);
        Assert.Equal((sent[1].TaskId, sweep, "worker-slow"), (stuck.TaskId, stuck.SweepId, stuck.WorkerId));
        Assert.Equal(600, stuck.ExpectedSeconds);
        Assert.InRange(stuck.RunningSeconds, 7200, 7300);
        Assert.Equal(now.AddHours(-2), stuck.StartedAt);

        // The monitor's query over every sweep finds the same one.
        var all = await app.WithAsync<StuckTaskQuery, IReadOnlyList<StuckTask>>(q => q.FindAsync(null, CancellationToken.None));
        Assert.Equal([sent[1].TaskId], all.Select(t => t.TaskId));
    }

    [Fact]
    public async Task Images_are_listed_with_their_provenance_in_task_order()
    {
        var sweep = await app.SubmitAsync("model: tiny-sdxl\nprompts: [an image]\nseeds: [5, 6]\nseg_blur_sigma: inf\n");
        var sent = await app.Inbox.TakeAsync(2);
        var task = sent.Single(m => m.TaskIndex == 1);
        await app.Worker.StartAsync(task.TaskId, "worker-img");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var stored = await scope.ServiceProvider.GetRequiredService<IImageBlobStore>().UploadPngAsync(ImageBlobNames.ForTask(task.TaskId), Png, CancellationToken.None);
            Assert.True(await scope.ServiceProvider.GetRequiredService<ProvenanceWriter>().TryInsertAsync(new ImageRecord
            {
                TaskId = task.TaskId,
                SweepId = sweep,
                ParametersJson = JsonSerializer.Serialize(task.Parameters),
                Parameters = task.Parameters with { Model = "tiny-sdxl" },
                WorkerId = "worker-img",
                Device = "cpu",
                ExecutionProvider = "CPUExecutionProvider",
                ImageSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Png)),
                BlobName = stored.BlobName,
                BlobUri = stored.Uri.ToString(),
                ImageWidth = 1,
                ImageHeight = 1,
                ImageBytes = Png.Length,
            }, CancellationToken.None));
        }

        await app.Worker.SucceedAsync(task, "worker-img", started: true);

        var page = await app.WithAsync<ImageQueries, ImagePage>(q => q.ListAsync(sweep, 1, 10, id => "/api/images/" + id, CancellationToken.None));
        Assert.Equal(1, page.Total);
        var image = Assert.Single(page.Items);
        Assert.Equal((task.TaskId, 1, 6L, "worker-img"), (image.TaskId, image.TaskIndex, image.Seed, image.WorkerId));
        Assert.Equal("inf", image.Parameters.GetProperty("seg_blur_sigma").GetString());
        Assert.Equal("/api/images/" + task.TaskId, image.ImageUrl);
        Assert.Equal(Png.Length, image.ImageBytes);
        await using var png = await app.Services.GetRequiredService<IImageBlobStore>().OpenReadAsync(ImageBlobNames.ForTask(task.TaskId), CancellationToken.None);
        using var copy = new MemoryStream();
        await png.CopyToAsync(copy);
        Assert.Equal(Png, copy.ToArray());
        Assert.True(File.Exists(Path.Combine(app.Folder, "images", ImageBlobNames.ForTask(task.TaskId))));
    }
}
