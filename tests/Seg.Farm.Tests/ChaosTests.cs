using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Seg.Farm.Tests;

/// <summary>
/// The chaos suite (issue 9): each scenario runs a 300-task sweep (fake render) on two worker processes and a real
/// coordinator process over RabbitMQ, PostgreSQL and Azurite instances of its own, breaks one part mid-sweep, and ends
/// with every task succeeded, one provenance row per task and a blob per row, within a bound and with no manual step.
/// The figures (time to recover, attempts used, resends) go to the test output and, when <c>SEG_CHAOS_FIGURES</c> names
/// a file, are appended to it as a table row (docs/reliability.md).
/// </summary>
public class ChaosTests(ITestOutputHelper output)
{
    private const int TaskCount = 300;

    /// <summary>The whole sweep must end within this after the fault (the bound of "no manual step").</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromMinutes(3);

    private static readonly Dictionary<string, string> WorkerSettings = new()
    {
        ["Worker__RenderMode"] = "Fake",
        ["Worker__FakeRenderSeconds"] = "0.02",
        ["Worker__Retry__RedeliveryMinSeconds"] = "2",
        ["Worker__Retry__RedeliveryMaxSeconds"] = "10",
    };

    private static readonly Dictionary<string, string> CoordinatorSettings = new()
    {
        ["Coordinator__ResendQueuedAfterSeconds"] = "20",
    };

    [Fact]
    public Task Two_worker_SIGKILLs_lose_nothing() => RunAsync("worker-kills", async (farm, _) =>
    {
        farm.Kill(farm.Workers[0]);
        farm.StartWorker("worker-3", WorkerSettings);
        await WaitForMoreSucceededAsync(farm, 30);
        farm.Kill(farm.Workers[1]);
        farm.StartWorker("worker-4", WorkerSettings);
    });

    [Fact]
    public Task RabbitMQ_restarted_with_its_data_wiped_loses_nothing() => RunAsync("rabbitmq-wiped", async (_, services) =>
    {
        await services.StopAsync("rabbitmq");
        await services.StartAsync("rabbitmq", keepData: false);
    });

    [Fact]
    public Task The_render_queue_purged_loses_nothing() => RunAsync("queue-purged", async (_, _) =>
        Assert.True(await LostMessageTests.PurgeAsync("render-tasks") > 0, "the purge found no message to drop"));

    [Fact]
    public Task PostgreSQL_stopped_for_30_seconds_loses_nothing() => RunAsync("postgres-stopped", async (_, services) =>
    {
        await services.StopAsync("postgres");
        await Task.Delay(TimeSpan.FromSeconds(30));
        await services.StartAsync("postgres", keepData: true);
    });

    /// <summary>
    /// The images stored before the restart are gone with the store: the worker that creates the container again reports
    /// it, and the coordinator's blob audit renders those tasks again.
    /// </summary>
    [Fact]
    public Task Azurite_restarted_empty_renders_lost_images_again() => RunAsync("azurite-empty", async (_, services) =>
    {
        await services.StopAsync("azurite");
        await services.StartAsync("azurite", keepData: false);
    });

    [Fact]
    public Task The_coordinator_SIGKILLed_mid_dispatch_and_restarted_loses_nothing() => RunAsync("coordinator-killed",
        async (farm, _) => await farm.KillAndRestartCoordinatorAsync());

    /// <summary>
    /// Starts the services and the farm, submits the sweep, runs <paramref name="fault"/> once a fifth of the tasks
    /// succeeded, waits for the sweep and checks the counts.
    /// </summary>
    private async Task RunAsync(string scenario, Func<Farm, ChaosServices, Task> fault)
    {
        await using var services = await ChaosServices.StartAsync(scenario);
        await using var farm = await Farm.StartAsync(workers: 2, maxInFlight: 16, workerSettings: WorkerSettings, coordinatorSettings: CoordinatorSettings);
        var total = Stopwatch.StartNew();
        var id = await farm.SubmitAsync($$"""
            name: chaos-{{scenario}}
            model: tiny
            prompts: [{{string.Join(", ", Enumerable.Range(1, 12).Select(i => $"\"prompt {i}\""))}}]
            seeds: {start: 1, count: {{TaskCount / 12}}}
            seg_scale: [3]
            steps: [2]
            size: ["64x64"]
            """);
        await WaitForMoreSucceededAsync(farm, TaskCount / 5);
        var before = await SucceededAsync(farm);
        var recovery = Stopwatch.StartNew();
        await fault(farm, services);
        var faultSeconds = recovery.Elapsed.TotalSeconds;

        var status = await WaitForSweepAsync(farm, id, RecoveryBound);
        var recoverySeconds = recovery.Elapsed.TotalSeconds;
        Assert.True(status == "succeeded", $"{scenario}: sweep {status}\n{farm.Logs()}");

        var sweep = await farm.GetSweepAsync(id);
        Assert.Equal(TaskCount, sweep.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        Assert.Equal((long)TaskCount, Scalar<long>(await farm.QueryAsync<long>("select count(*) from render_tasks where status = 'succeeded'")));
        // No duplicate provenance row: one per task.
        Assert.Equal((long)TaskCount, Scalar<long>(await farm.QueryAsync<long>("select count(*) from images")));
        Assert.Equal((long)TaskCount, Scalar<long>(await farm.QueryAsync<long>("select count(distinct task_id) from images")));
        // Blobs = provenance rows: every row's blob, and no blob without its row.
        var blobs = (await farm.BlobNamesAsync()).ToHashSet(StringComparer.Ordinal);
        var names = await farm.QueryAsync<string>("select blob_name from images");
        Assert.Equal(names.ToHashSet(StringComparer.Ordinal), blobs);

        var attempts = await farm.QueryAsync<int>("select attempts from render_tasks");
        var resends = sweep.GetProperty("resends").GetInt32();
        // Images the store lost and the farm rendered again (the blob audit's resends).
        var renderedAgain = Scalar(await farm.QueryAsync<long>("select count(*) from render_tasks where last_error like 'blob_lost%'"));
        var row = string.Create(CultureInfo.InvariantCulture,
            $"| {scenario} | {TaskCount} | {before} | {faultSeconds:F1} | {recoverySeconds:F1} | {total.Elapsed.TotalSeconds:F1} | " +
            $"{attempts.Sum()} | {attempts.Max()} | {attempts.Count(a => a > 1)} | {resends} | {renderedAgain} | {TaskCount - blobs.Count} |");
        output.WriteLine("| scenario | tasks | done at fault | fault s | fault to sweep end s | sweep s | attempts | max | tasks > 1 | resends | rendered again | blobs lost |");
        output.WriteLine(row);
        if (Environment.GetEnvironmentVariable("SEG_CHAOS_FIGURES") is { Length: > 0 } figures)
        {
            await File.AppendAllTextAsync(figures, row + Environment.NewLine);
        }
    }

    private static T Scalar<T>(List<T> rows) => Assert.Single(rows);

    /// <summary>The sweep's final status, asked until <paramref name="bound"/>; the API may answer 5xx while a service restarts.</summary>
    private static async Task<string> WaitForSweepAsync(Farm farm, Guid id, TimeSpan bound)
    {
        var status = "";
        var last = "";
        try
        {
            await WaitAsync();
        }
        catch (TimeoutException e)
        {
            // What the sweep was left with tells a lost event (all ended, still running) from a lost task.
            throw new TimeoutException($"{e.Message}\nthe sweep's last answer: {last}", e);
        }

        return status;

        Task WaitAsync() => farm.WaitUntilAsync(async () =>
        {
            try
            {
                var sweep = await farm.GetSweepAsync(id);
                last = sweep.GetRawText();
                status = sweep.GetProperty("status").GetString()!;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false; // a 5xx or a timeout while the farm recovers
            }

            return status is "succeeded" or "failed" or "cancelled";
        }, bound, $"sweep {id} to finish");
    }

    private static async Task<long> SucceededAsync(Farm farm) =>
        Scalar(await farm.QueryAsync<long>("select count(*) from render_tasks where status = 'succeeded'"));

    private static async Task WaitForMoreSucceededAsync(Farm farm, int more)
    {
        var target = await SucceededAsync(farm) + more;
        await farm.WaitUntilAsync(async () => await SucceededAsync(farm) >= target, TimeSpan.FromMinutes(2), $"{target} tasks to succeed");
    }
}
