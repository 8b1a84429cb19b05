using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Contracts.Messages;
using Seg.Storage.Blobs;

namespace Seg.Coordinator.Tests;

/// <summary>
/// The blob store lost an image (issue 9, Azurite restarted empty): a worker's <see cref="BlobContainerRecreated"/> makes
/// the coordinator audit the store, requeue the task whose blob is gone (attempt refunded, one resend), reopen the sweep
/// that had succeeded and send the task again at once; rendered again, the sweep succeeds once more.
/// </summary>
public sealed class LostBlobTests(DefaultCoordinatorFixture app) : IClassFixture<DefaultCoordinatorFixture>
{
    [Fact]
    public async Task A_recreated_container_reported_by_a_worker_renders_the_lost_image_again()
    {
        var sweep = await app.SubmitAsync("name: lost-blob\nmodel: tiny-sdxl\nprompts: [lost]\nseeds: [1, 2, 3]\n");
        var sent = await app.Queue.TakeAsync(3);
        Assert.True(BlobLostResends(await app.Client.GetStringAsync("/metrics")) >= 0, "the blob_lost series exists before any resend");
        foreach (var message in sent)
        {
            await RenderAsync(sweep, message.Message);
        }

        await app.WaitForSweepStatusAsync(sweep, "succeeded");
        var lost = sent.Single(m => m.Message.TaskIndex == 1).Message;
        var container = app.Services.GetRequiredService<BlobStorageOptions>().ContainerName;
        await new BlobClient(TestServices.Blobs, container, ImageBlobNames.ForTask(lost.TaskId)).DeleteAsync();

        await app.Services.GetRequiredService<IBus>().Publish(new BlobContainerRecreated("worker-a", container, DateTimeOffset.UtcNow));

        // Sent again at once (the dispatcher polls only every 60 s here), as attempt 1 again: the lost render's is refunded.
        var again = Assert.Single(await app.Queue.TakeAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(lost.TaskId, again.Message.TaskId);
        Assert.Equal(1, again.Message.Attempt);
        var reopened = await app.WaitForSweepStatusAsync(sweep, "running");
        Assert.Equal(1, reopened.GetProperty("resends").GetInt32());
        Assert.Equal(2, await app.WithDbAsync(db => db.Images.CountAsync(i => i.SweepId == sweep)));
        Assert.False(await app.WithDbAsync(db => db.Images.AnyAsync(i => i.TaskId == lost.TaskId)));
        // Counted by reason (the series exists from the start, like the other reasons').
        await CoordinatorFixture.EventuallyAsync(async () => BlobLostResends(await app.Client.GetStringAsync("/metrics")) >= 1,
            "seg_tasks_resent_total{reason=\"blob_lost\"} >= 1");

        await RenderAsync(sweep, again.Message);
        var done = await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(3, done.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        Assert.Equal(3, await app.WithDbAsync(db => db.Images.CountAsync(i => i.SweepId == sweep)));
    }

    [Fact]
    public async Task An_admin_request_audits_the_store_and_renders_a_blob_deleted_by_hand_again()
    {
        var sweep = await app.SubmitAsync("name: deleted-blob\nmodel: tiny-sdxl\nprompts: [deleted]\nseeds: [4]\n");
        var sent = Assert.Single(await app.Queue.TakeAsync(1));
        await RenderAsync(sweep, sent.Message);
        await app.WaitForSweepStatusAsync(sweep, "succeeded");
        var container = app.Services.GetRequiredService<BlobStorageOptions>().ContainerName;
        // Deleted by hand: the container stays, so no worker would notice.
        await new BlobClient(TestServices.Blobs, container, ImageBlobNames.ForTask(sent.Message.TaskId)).DeleteAsync();

        using var response = await app.PostAsync("/api/admin/blob-audit");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);

        var again = Assert.Single(await app.Queue.TakeAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(sent.Message.TaskId, again.Message.TaskId);
        await RenderAsync(sweep, again.Message);
        var done = await app.WaitForSweepStatusAsync(sweep, "succeeded");
        Assert.Equal(1, done.GetProperty("resends").GetInt32());
    }

    private static double BlobLostResends(string metrics) =>
        Regex.Match(metrics, "^seg_tasks_resent_total\\{[^}]*reason=\"blob_lost\"[^}]*\\} (?<value>\\S+)", RegexOptions.Multiline) is { Success: true } match
            ? double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)
            : -1;

    /// <summary>Plays the worker: starts the task, stores its blob and provenance row, marks it succeeded.</summary>
    private async Task RenderAsync(Guid sweep, RenderTask task)
    {
        await app.Worker.StartAsync(task.TaskId, "worker-a");
        Assert.True(await app.StoreImageAsync(task.TaskId, sweep, task.Parameters, "worker-a"));
        await app.Worker.SucceedAsync(task, "worker-a", started: true);
    }
}
