using System.Diagnostics;
using System.Globalization;
using Seg.Cli.Farm;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg bench web --farm URL</c>: how long the web pages take for a 10,000-task sweep. It submits a sweep of
/// 10 prompts x 25 seeds x 5 SEG scales x 8 sigmas, waits until its images are stored (run the farm's workers in the
/// fake render mode, as bench/web-bench.sh does), then requests the sweeps list, the sweep page and a sigma x scale grid
/// page (40 cells) in turn, warm-up requests first, and reports the median and the 95th percentile. The time is taken
/// around each request on loopback, so it bounds the server's time from above.
/// </summary>
internal static class WebBench
{
    /// <summary>The benchmark sweep: 10 x 25 x 5 x 8 = 10,000 tasks.</summary>
    private const string Sweep = """
        name: bench-web-10000
        model: tiny
        tags: {bench: web}
        prompts: ["cat 1", "cat 2", "cat 3", "cat 4", "cat 5", "cat 6", "cat 7", "cat 8", "cat 9", "cat 10"]
        seeds: {start: 1, count: 25}
        seg_scale: [0, 1, 2, 3, 5]
        seg_blur_sigma: [0.5, 1, 2, 4, 8, 16, 32, inf]
        steps: [2]
        size: ["64x64"]
        """;

    public static async Task<int> RunAsync(string coordinator, string? apiKey, int repeats, CancellationToken cancellationToken)
    {
        using var http = FarmClient.CreateHttpClient(coordinator, apiKey, TimeSpan.FromMinutes(5));
        var client = new FarmClient(http);
        var sweep = await client.SubmitTextAsync(Sweep, cancellationToken);
        var watch = Stopwatch.StartNew();
        while (!(await client.GetAsync(sweep.Id, cancellationToken)).IsFinished)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        var final = await client.GetAsync(sweep.Id, cancellationToken);
        Console.Out.WriteLine($"seg bench web against {coordinator}: sweep of {final.TaskCount} tasks, {final.Tasks.Succeeded} images, rendered in {watch.Elapsed.TotalSeconds:F0} s");
        var pages = new (string Name, string Path)[]
        {
            ("sweeps list", ""),
            ("sweep page", $"sweeps/{sweep.Id}"),
            ("grid page, seg_scale x seg_blur_sigma (40 cells)", $"sweeps/{sweep.Id}/grid?rows=seg_scale&cols=seg_blur_sigma&prompts=cat%205&seeds=13"),
            ("sweep progress (the page's polling)", $"sweeps/{sweep.Id}?handler=Progress"),
        };
        Console.Out.WriteLine("| page | median ms | p95 ms |");
        Console.Out.WriteLine("|---|---:|---:|");
        foreach (var (name, path) in pages)
        {
            var times = new List<double>();
            for (var i = 0; i < repeats + 5; i++)
            {
                var request = Stopwatch.StartNew();
                using var response = await http.GetAsync(path, cancellationToken);
                _ = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                request.Stop();
                response.EnsureSuccessStatusCode();
                if (i >= 5)
                {
                    times.Add(request.Elapsed.TotalMilliseconds);
                }
            }

            times.Sort();
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {times[times.Count / 2]:F1} | {times[(int)Math.Ceiling(times.Count * 0.95) - 1]:F1} |"));
        }

        return 0;
    }
}
