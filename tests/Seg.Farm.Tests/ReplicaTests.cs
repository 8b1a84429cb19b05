namespace Seg.Farm.Tests;

/// <summary>
/// Two coordinator replicas on one database and broker (Helm <c>coordinator.replicas: 2</c>): both migrate at start and
/// both dispatch, yet every task is sent and rendered once and the progress is exact.
/// </summary>
public class ReplicaTests
{
    [Fact]
    public async Task Two_coordinators_render_a_2000_task_sweep_once_each_with_exact_progress()
    {
        await using var farm = await Farm.StartAsync(
            workers: 2,
            maxInFlight: 64,
            workerSettings: new Dictionary<string, string> { ["Worker__RenderMode"] = "Fake", ["Worker__CpuSlots"] = "4" },
            coordinators: 2,
            // Short polls, so that both replicas' dispatchers run rounds all the time and race for the same tasks.
            coordinatorSettings: new Dictionary<string, string>
            {
                ["Coordinator__DispatchIntervalSeconds"] = "0.05",
                ["Logging__LogLevel__Seg.Coordinator.Dispatch.TaskDispatcher"] = "Debug",
            });
        var id = await farm.SubmitAsync($$"""
            name: replicas
            model: tiny
            prompts: [{{string.Join(", ", Enumerable.Range(1, 20).Select(i => $"\"prompt {i}\""))}}]
            seeds: {start: 1, count: 100}
            seg_scale: [3]
            steps: [2]
            size: ["64x64"]
            """);

        var (status, progress) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
        Assert.True(status == "succeeded", farm.Logs());
        Assert.Equal(1.0, progress[^1]);
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.Second >= p.First), "progress went backwards: " + string.Join(", ", progress));

        var sweep = await farm.GetSweepAsync(id);
        Assert.Equal(2000, sweep.GetProperty("taskCount").GetInt32());
        Assert.Equal(2000, sweep.GetProperty("tasks").GetProperty("succeeded").GetInt32());
        // Each task rendered once: one provenance row per task, one start per task, and the workers' own count.
        Assert.Equal(2000L, (await farm.QueryAsync<long>("select count(*) from images")).Single());
        Assert.Equal(2000L, (await farm.QueryAsync<long>("select count(distinct task_id) from images")).Single());
        Assert.Equal(0L, (await farm.QueryAsync<long>("select count(*) from render_tasks where attempts <> 1")).Single());
        await farm.WaitUntilAsync(async () => (await farm.QueryAsync<long>("select coalesce(sum(tasks_done), 0)::bigint from workers")).Single() == 2000,
            TimeSpan.FromSeconds(30), "the workers' heartbeats to count 2000 renders");
        // Every message sent once: the rounds of both replicas took 2000 tasks in all, and both took part (else the
        // test would prove nothing about two dispatchers).
        var taken = farm.Coordinators.Select(c => TakenBy(c.Log)).ToList();
        Assert.Equal(2000, taken.Sum());
        Assert.All(taken, count => Assert.True(count > 0, "a replica dispatched nothing: " + string.Join(", ", taken)));
    }

    /// <summary>The tasks a coordinator's dispatch rounds took, from its debug log lines.</summary>
    private static int TakenBy(string log) => System.Text.RegularExpressions.Regex.Matches(log, @"Dispatch round took (\d+) pending tasks")
        .Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
}
