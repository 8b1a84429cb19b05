using System.Diagnostics;
using System.Globalization;
using Seg.Cli.Farm;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg bench farm --farm URL</c>: end-to-end throughput of a running farm and the time the coordinator takes
/// to accept a large sweep. Run it against workers in the fake render mode (bench/farm-bench.sh does) to
/// measure the farm itself rather than the GPUs.
/// </summary>
internal static class FarmBench
{
    public static async Task<int> RunAsync(Uri coordinator, int tasks, int acceptTasks, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = coordinator, Timeout = TimeSpan.FromMinutes(5) };
        var client = new FarmClient(http);

        // Warm-up: connections, JIT and caches on both sides, not counted.
        var warm = await client.SubmitTextAsync(Sweep("bench-warmup", 20), cancellationToken);
        await WaitAsync(client, warm.Id, cancellationToken);

        var watch = Stopwatch.StartNew();
        var sweep = await client.SubmitTextAsync(Sweep("bench-throughput", tasks), cancellationToken);
        var final = await WaitAsync(client, sweep.Id, cancellationToken);
        watch.Stop();
        if (final.Tasks.Succeeded != tasks)
        {
            throw new InvalidOperationException($"the throughput sweep ended {final.Status} with {final.Tasks.Succeeded}/{tasks} succeeded");
        }

        var accept = Stopwatch.StartNew();
        var large = await client.SubmitTextAsync(Sweep("bench-accept", acceptTasks), cancellationToken);
        accept.Stop();
        await client.CancelAsync(large.Id, cancellationToken);

        var rate = tasks / watch.Elapsed.TotalSeconds;
        Console.Out.WriteLine($"seg bench farm against {coordinator}");
        Console.Out.WriteLine("| measure | value |");
        Console.Out.WriteLine("|---|---:|");
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {tasks} tasks, submit to last image stored | {watch.Elapsed.TotalSeconds:F1} s |"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| end-to-end throughput | {rate:F0} tasks/s |"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| accept a {acceptTasks}-task sweep (validate, expand, store) | {accept.Elapsed.TotalSeconds:F2} s |"));
        return 0;
    }

    private static async Task<FarmSweep> WaitAsync(FarmClient client, Guid id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var sweep = await client.GetAsync(id, cancellationToken);
            if (sweep.IsFinished)
            {
                return sweep;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private static string Sweep(string name, int tasks) => $$"""
        name: {{name}}
        model: tiny
        prompts: ["a photo of a cat"]
        seeds: {start: 0, count: {{tasks}}}
        steps: [2]
        size: ["64x64"]
        """;
}
