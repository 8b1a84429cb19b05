using RabbitMQ.Client;

namespace Seg.Farm.Tests;

/// <summary>
/// Messages lost on the broker (issue 9): the render queue is purged mid-sweep, and the coordinator sends the lost
/// tasks again once no worker has started them within Coordinator:ResendQueuedAfterSeconds; every task succeeds once.
/// </summary>
public class LostMessageTests
{
    [Fact]
    public async Task A_render_queue_purged_mid_sweep_loses_nothing()
    {
        await using var farm = await Farm.StartAsync(
            workers: 1,
            maxInFlight: 16,
            // One slot of 300 ms renders: most of the 16 in flight wait on the queue, where the purge finds them.
            workerSettings: new Dictionary<string, string> { ["Worker__RenderMode"] = "Fake", ["Worker__FakeRenderSeconds"] = "0.3" },
            coordinatorSettings: new Dictionary<string, string> { ["Coordinator__ResendQueuedAfterSeconds"] = "3" });
        var id = await farm.SubmitAsync($$"""
            name: purged
            model: tiny
            prompts: [{{string.Join(", ", Enumerable.Range(1, 8).Select(i => $"\"prompt {i}\""))}}]
            seeds: {start: 1, count: 5}
            seg_scale: [3]
            steps: [2]
            size: ["64x64"]
            """);
        await farm.WaitUntilAsync(async () => (await farm.QueryAsync<long>("select count(*) from render_tasks where status = 'succeeded'")).Single() >= 2,
            TimeSpan.FromMinutes(1), "the first renders");

        var purged = await PurgeAsync("render-tasks");
        Assert.True(purged > 0, "the purge found no message to drop");

        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
        Assert.True(status == "succeeded", farm.Logs());
        var sweep = await farm.GetSweepAsync(id);
        Assert.Equal(40, sweep.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        Assert.True(sweep.GetProperty("resends").GetInt32() >= purged, $"{purged} messages purged, {sweep.GetProperty("resends")} resent");
        Assert.Equal(40L, (await farm.QueryAsync<long>("select count(*) from images")).Single());
        Assert.Equal(40L, (await farm.QueryAsync<long>("select count(distinct task_id) from images")).Single());
        Assert.Equal(40, (await farm.BlobNamesAsync()).Count);
        Assert.Contains("Sent again", farm.Coordinators.First().Log, StringComparison.Ordinal);
    }

    /// <summary>Drops every ready message of the queue, as <c>rabbitmqctl purge_queue</c> does; returns how many.</summary>
    internal static async Task<uint> PurgeAsync(string queue)
    {
        var factory = new ConnectionFactory
        {
            HostName = TestServices.RabbitHost,
            Port = TestServices.RabbitPort,
            UserName = TestServices.RabbitUser,
            Password = TestServices.RabbitPassword,
        };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return await channel.QueuePurgeAsync(queue);
    }
}
