using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Coordinator.Images;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Workers;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;
using Seg.Storage.Workers;

namespace Seg.Coordinator.Tests.Scenarios;

/// <summary>Workers and heartbeats, stuck tasks, images with their provenance, health endpoints and the OpenAPI document.</summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class MonitoringScenarios<TDatabase>(DefaultFixture<TDatabase> app) : IClassFixture<DefaultFixture<TDatabase>>
    where TDatabase : ITestDatabase, new()
{
    private static byte[] Png => CoordinatorTestHost.Png;

    [Fact]
    public async Task Heartbeats_show_in_api_workers_and_silent_workers_turn_stale()
    {
        IReadOnlyList<WorkerView> views = [];
        async Task<bool> StoredAsync(int slots)
        {
            views = await app.WithAsync<WorkerQueries, IReadOnlyList<WorkerView>>(q => q.ListAsync(CancellationToken.None));
            return views.Any(w => w.WorkerId == "worker-hb" && w.Slots == slots);
        }

        // The second heartbeat updates the row the first one made (sent once the first is stored: the consumer takes
        // several messages at once, and the order of two at once is not kept).
        await app.Worker.HeartbeatAsync("worker-hb", 1, 0, "tiny-sdxl");
        await CoordinatorTestHost.EventuallyAsync(() => StoredAsync(1), "worker-hb's first heartbeat stored");
        await app.Worker.HeartbeatAsync("worker-hb", 2, 1, "tiny-sdxl", "sdxl-base");
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

        await CoordinatorTestHost.EventuallyAsync(() => StoredAsync(2), "worker-hb's second heartbeat stored");
        Assert.Equal(1, await app.WithDbAsync(db => db.Workers.CountAsync(w => w.WorkerId == "worker-hb")));
        var view = views.Single(w => w.WorkerId == "worker-hb");
        Assert.Equal(WorkerHealth.Healthy, view.Health);
        Assert.Equal("worker-hb-host", view.Host);
        Assert.Equal(["cuda:0", "cuda:1"], view.Devices);
        Assert.Equal((2, 1, 7.5, 42L), (view.Slots, view.Busy, view.ImagesPerMinute, view.TasksDone));
        Assert.Equal(["tiny-sdxl", "sdxl-base"], view.ModelsCached);
        Assert.InRange(view.SecondsSinceHeartbeat, 0, 30);
        Assert.True(view.FirstSeenAt <= view.LastHeartbeatAt);
        var goneView = views.Single(w => w.WorkerId == "worker-gone");
        Assert.Equal(WorkerHealth.Stale, goneView.Health);
        Assert.InRange(goneView.SecondsSinceHeartbeat, 299, 400);

        var workers = await app.GetJsonAsync("/api/workers");

        var live = workers.EnumerateArray().Single(w => w.GetProperty("workerId").GetString() == "worker-hb");
        Assert.Equal("healthy", live.GetProperty("health").GetString());
        Assert.Equal("worker-hb-host", live.GetProperty("host").GetString());
        Assert.Equal(["cuda:0", "cuda:1"], live.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal(2, live.GetProperty("slots").GetInt32());
        Assert.Equal(1, live.GetProperty("busy").GetInt32());
        Assert.Equal(7.5, live.GetProperty("imagesPerMinute").GetDouble());
        Assert.Equal(42, live.GetProperty("tasksDone").GetInt64());
        Assert.Equal(["tiny-sdxl", "sdxl-base"], live.GetProperty("modelsCached").EnumerateArray().Select(d => d.GetString()));
        Assert.True(live.GetProperty("secondsSinceHeartbeat").GetDouble() < 30);

        var gone = workers.EnumerateArray().Single(w => w.GetProperty("workerId").GetString() == "worker-gone");
        Assert.Equal("stale", gone.GetProperty("health").GetString());
    }

    [Fact]
    public async Task A_task_running_far_longer_than_the_sweeps_median_is_reported_stuck()
    {
        var sweep = await app.SubmitAsync("model: m\nprompts: [stuck]\nseeds: [1, 2, 3]\n");
        var sent = await app.Queue.TakeAsync(3);
        await app.Worker.SucceedAsync(sent[0].Message);
        await app.Worker.StartAsync(sent[1].Message.TaskId, "worker-slow");
        await app.Worker.StartAsync(sent[2].Message.TaskId, "worker-ok");
        // Whole microseconds, PostgreSQL's precision, so that the times read back are the ones written.
        var now = DateTimeOffset.UtcNow;
        now = now.AddTicks(-(now.Ticks % 10));
        await app.WithDbAsync(async db =>
        {
            // Renders of this sweep take 20 s; one task has run for two hours (past the 600 s floor), one for 10 s.
            await db.RenderTasks.Where(t => t.Id == sent[0].Message.TaskId)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddSeconds(-100)).SetProperty(t => t.FinishedAt, now.AddSeconds(-80)));
            await db.RenderTasks.Where(t => t.Id == sent[1].Message.TaskId).ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddHours(-2)));
            return await db.RenderTasks.Where(t => t.Id == sent[2].Message.TaskId).ExecuteUpdateAsync(s => s.SetProperty(t => t.StartedAt, now.AddSeconds(-10)));
        });

        var detail = await app.GetJsonAsync($"/api/sweeps/{sweep}");
        var stuck = Assert.Single(detail.GetProperty("stuckTasks").EnumerateArray());
        Assert.Equal(sent[1].Message.TaskId, stuck.GetProperty("taskId").GetGuid());
        Assert.Equal("worker-slow", stuck.GetProperty("workerId").GetString());
        Assert.Equal(600, stuck.GetProperty("expectedSeconds").GetDouble());
        Assert.True(stuck.GetProperty("runningSeconds").GetDouble() > 7000);

        var summary = Assert.Single((await app.SummaryAsync(sweep, detail: true)).StuckTasks!);
        Assert.Equal((sent[1].Message.TaskId, sweep, "worker-slow"), (summary.TaskId, summary.SweepId, summary.WorkerId));
        Assert.Equal(600, summary.ExpectedSeconds);
        Assert.InRange(summary.RunningSeconds, 7200, 7300);
        Assert.Equal(now.AddHours(-2), summary.StartedAt);

        // The monitor's query over every sweep finds the same one.
        var all = await app.WithAsync<StuckTaskQuery, IReadOnlyList<StuckTask>>(q => q.FindAsync(null, CancellationToken.None));
        Assert.Equal([sent[1].Message.TaskId], all.Select(t => t.TaskId));
    }

    [Fact]
    public async Task Images_are_listed_with_provenance_and_served_as_png()
    {
        var sweep = await app.SubmitAsync("model: tiny-sdxl\nprompts: [an image]\nseeds: [5, 6]\nseg_blur_sigma: inf\n");
        var sent = await app.Queue.TakeAsync(2);
        var task = sent.Single(m => m.Message.TaskIndex == 1).Message;
        await app.Worker.StartAsync(task.TaskId, "worker-img");
        Assert.True(await app.StoreImageAsync(task.TaskId, sweep, task.Parameters with { Model = "tiny-sdxl" }, "worker-img"));

        await app.Worker.SucceedAsync(task, "worker-img", started: true);

        var page = await app.GetJsonAsync($"/api/sweeps/{sweep}/images?page=1&pageSize=10");
        Assert.Equal(1, page.GetProperty("total").GetInt32());
        var image = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(task.TaskId, image.GetProperty("taskId").GetGuid());
        Assert.Equal(1, image.GetProperty("taskIndex").GetInt32());
        Assert.Equal(6, image.GetProperty("seed").GetInt64());
        Assert.Equal("inf", image.GetProperty("parameters").GetProperty("seg_blur_sigma").GetString());
        Assert.Equal(ImageBlobNames.ForTask(task.TaskId), image.GetProperty("blobName").GetString());
        Assert.Equal("worker-img", image.GetProperty("workerId").GetString());
        Assert.Equal(Png.Length, image.GetProperty("imageBytes").GetInt64());
        // No storage endpoint or account in the answer, and no absolute URL made from the request's Host header.
        Assert.False(image.TryGetProperty("blobUri", out _));
        Assert.DoesNotContain("devstoreaccount1", page.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("://", image.GetProperty("imageUrl").GetString(), StringComparison.Ordinal);
        var url = new Uri(app.Client.BaseAddress!, image.GetProperty("imageUrl").GetString()!);
        Assert.Equal($"/api/images/{task.TaskId}", url.AbsolutePath);

        using var png = await app.Client.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Png, await png.Content.ReadAsByteArrayAsync());

        using var missing = await app.Client.GetAsync($"/api/images/{sent.Single(m => m.Message.TaskIndex == 0).Message.TaskId}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);

        // The same through the queries and the store the API uses.
        var listed = await app.WithAsync<ImageQueries, ImagePage>(q => q.ListAsync(sweep, 1, 10, id => "/api/images/" + id, CancellationToken.None));
        var item = Assert.Single(listed.Items);
        Assert.Equal((task.TaskId, 1, 6L, "worker-img"), (item.TaskId, item.TaskIndex, item.Seed, item.WorkerId));
        Assert.Equal("inf", item.Parameters.GetProperty("seg_blur_sigma").GetString());
        Assert.Equal("/api/images/" + task.TaskId, item.ImageUrl);
        Assert.Equal(Png.Length, item.ImageBytes);
        await using var read = await app.Services.GetRequiredService<IImageBlobStore>().OpenReadAsync(ImageBlobNames.ForTask(task.TaskId), CancellationToken.None);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(Png, copy.ToArray());
        if (app.Database.ImagesFolder is { } folder)
        {
            Assert.True(File.Exists(Path.Combine(folder, ImageBlobNames.ForTask(task.TaskId))));
        }
    }

    [Fact]
    public async Task Without_the_per_sweep_option_no_series_names_a_sweep()
    {
        await app.SubmitAsync("name: unlabelled\nmodel: m\nprompts: [counted]\nseeds: [1, 2]\n");
        // Taken off the class's queue, where the next scenario would read them as its own.
        await app.Queue.TakeAsync(2);
        var metrics = "";
        // Wait for a sample that holds the open sweep (every 5 s), so the absence below is not that of an empty sample.
        await CoordinatorTestHost.EventuallyAsync(async () =>
        {
            metrics = await app.Client.GetStringAsync("/metrics");
            return System.Text.RegularExpressions.Regex.IsMatch(metrics, @"seg_tasks\{[^}]*status=""(pending|queued)""[^}]*\} [1-9]");
        }, "seg_tasks counting the open sweep", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain("sweep_id", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("seg_sweep_", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Liveness_answers_healthy()
    {
        using var response = await app.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readiness_names_the_database_the_broker_and_the_blob_store()
    {
        using var response = await app.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        var checks = report.GetProperty("checks").EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetProperty("status").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["blob-store"] = "Healthy", ["broker"] = "Healthy", ["database"] = "Healthy" }, checks);
    }

    [Fact]
    public async Task OpenApi_document_lists_every_endpoint()
    {
        var document = await app.GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Superset(
            new HashSet<string>
            {
                "/api/sweeps", "/api/sweeps/{id}", "/api/sweeps/{id}/images", "/api/images/{taskId}", "/api/workers",
                "/api/sweeps/{id}/cancel", "/api/sweeps/{id}/pause", "/api/sweeps/{id}/resume", "/api/sweeps/{id}/requeue-failed",
            },
            paths);
        var submit = document.GetProperty("paths").GetProperty("/api/sweeps").GetProperty("post");
        Assert.True(submit.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/yaml", out _));
        Assert.True(submit.GetProperty("responses").TryGetProperty("400", out _));
    }
}

public sealed class MonitoringOnPostgres(DefaultFixture<PostgresDatabase> app) : MonitoringScenarios<PostgresDatabase>(app);

public sealed class MonitoringOnSqlite(DefaultFixture<SqliteDatabase> app) : MonitoringScenarios<SqliteDatabase>(app);
