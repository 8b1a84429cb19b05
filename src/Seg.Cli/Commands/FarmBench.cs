using System.Diagnostics;
using System.Globalization;
using Seg.Cli.Farm;

namespace Seg.Cli.Commands;

/// <summary>What <c>seg bench farm</c> runs.</summary>
/// <param name="Coordinator">Coordinator base URL.</param>
/// <param name="ApiKey">The API key (<c>--api-key</c>), or null for <c>SEG_API_KEY</c>.</param>
/// <param name="Tasks">Tasks in each timed throughput sweep.</param>
/// <param name="Sweeps">Timed throughput sweeps, one after another.</param>
/// <param name="WarmupTasks">Tasks of the untimed warm-up sweep.</param>
/// <param name="AcceptTasks">Tasks of the sweep whose acceptance is timed.</param>
internal sealed record FarmBenchSettings(string Coordinator, string? ApiKey, int Tasks, int Sweeps, int WarmupTasks, int AcceptTasks);

/// <summary>
/// <c>seg bench farm --farm URL</c>: end-to-end throughput of a running farm and the time the coordinator takes
/// to accept a large sweep. Run it against workers in the fake render mode (bench/farm-bench.sh does) to
/// measure the farm itself rather than the GPUs.
/// </summary>
internal static class FarmBench
{
    public static async Task<int> RunAsync(FarmBenchSettings settings, CancellationToken cancellationToken)
    {
        using var http = FarmClient.CreateHttpClient(settings.Coordinator, settings.ApiKey, TimeSpan.FromMinutes(5));
        var client = new FarmClient(http);

        // Warm-up, not counted: connections, caches and the JIT's tiering (tens of seconds of re-compiling hot
        // MassTransit, EF Core and Npgsql methods) settle, as in a farm that has been running for a while.
        var warmupTasks = Math.Max(1, settings.WarmupTasks);
        var warmupWatch = Stopwatch.StartNew();
        var warm = await client.SubmitTextAsync(Sweep("bench-warmup", warmupTasks), cancellationToken);
        await WaitForSuccessAsync(client, warm.Id, warmupTasks, cancellationToken);
        var warmupSeconds = warmupWatch.Elapsed.TotalSeconds;

        // Several sweeps, because one run of the same farm varies by tens of percent with how completions and
        // dispatch rounds happen to line up on two shared cores; the median is the figure to quote.
        var rates = new List<double>();
        var lines = new List<string>();
        for (var i = 1; i <= Math.Max(1, settings.Sweeps); i++)
        {
            var watch = Stopwatch.StartNew();
            var sweep = await client.SubmitTextAsync(Sweep($"bench-throughput-{i}", settings.Tasks), cancellationToken);
            await WaitForSuccessAsync(client, sweep.Id, settings.Tasks, cancellationToken);
            watch.Stop();
            var rate = settings.Tasks / watch.Elapsed.TotalSeconds;
            rates.Add(rate);
            lines.Add(Invariant($"| sweep {i}: {settings.Tasks} tasks, submit to last image stored | {watch.Elapsed.TotalSeconds:F1} s = {rate:F0} tasks/s |"));
        }

        var accept = Stopwatch.StartNew();
        var large = await client.SubmitTextAsync(Sweep("bench-accept", settings.AcceptTasks), cancellationToken);
        accept.Stop();
        await client.CancelAsync(large.Id, cancellationToken);

        Console.Out.WriteLine($"seg bench farm against {settings.Coordinator}");
        Console.Out.WriteLine("| measure | value |");
        Console.Out.WriteLine("|---|---:|");
        Console.Out.WriteLine(Invariant($"| warm-up sweep (not timed for throughput) | {warmupTasks} tasks in {warmupSeconds:F1} s = {warmupTasks / warmupSeconds:F0} tasks/s |"));
        lines.ForEach(Console.Out.WriteLine);
        Console.Out.WriteLine(Invariant($"| end-to-end throughput, median of {rates.Count} sweeps | {BenchCommand.Median(rates):F0} tasks/s |"));
        Console.Out.WriteLine(Invariant($"| accept a {settings.AcceptTasks}-task sweep (validate, expand, store) | {accept.Elapsed.TotalSeconds:F2} s |"));
        return 0;
    }

    private static async Task WaitForSuccessAsync(FarmClient client, Guid id, int tasks, CancellationToken cancellationToken)
    {
        while (true)
        {
            var sweep = await client.GetAsync(id, cancellationToken);
            if (sweep.IsFinished)
            {
                if (sweep.Tasks.Succeeded != tasks)
                {
                    throw new InvalidOperationException($"sweep {id} ended {sweep.Status} with {sweep.Tasks.Succeeded}/{tasks} succeeded");
                }

                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Sweep(string name, int tasks) => $$"""
        name: {{name}}
        model: tiny
        prompts: ["a photo of a cat"]
        seeds: {start: 0, count: {{tasks}}}
        steps: [2]
        size: ["64x64"]
        """;
}
