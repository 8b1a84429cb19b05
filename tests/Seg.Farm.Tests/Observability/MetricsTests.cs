using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Seg.Farm.Tests.Observability;

/// <summary>The coordinator's and the worker's <c>/metrics</c> in the Prometheus exposition format, after a real sweep.</summary>
public partial class MetricsTests(ITestOutputHelper output)
{
    /// <summary>Series the coordinator must expose, with a label each must carry (or "").</summary>
    public static readonly (string Name, string Label)[] CoordinatorSeries =
    [
        ("seg_tasks", "status"),
        ("seg_tasks_in_flight", ""),
        ("seg_queue_depth", ""),
        ("seg_coordinator_tasks_dispatched_total", ""),
        ("seg_coordinator_tasks_ended_total", "outcome"),
        ("seg_tasks_failed_total", "class"),
        ("seg_tasks_resent_total", ""),
        ("seg_broker_reconnects_total", ""),
        ("seg_coordinator_task_gpu_seconds_bucket", "le"),
    ];

    /// <summary>Series the worker must expose.</summary>
    public static readonly (string Name, string Label)[] WorkerSeries =
    [
        ("seg_render_stage_duration_seconds_bucket", "stage"),
        ("seg_worker_gpu_seconds_total", "model"),
        ("seg_worker_slots", "device"),
        ("seg_worker_slots_busy", "device"),
        ("seg_worker_tasks_total", "outcome"),
        ("seg_broker_reconnects_total", ""),
    ];

    [Fact]
    public async Task Both_processes_serve_the_farm_metrics_with_few_labels_and_the_coordinator_asks_for_the_read_scope()
    {
        await using var farm = await Farm.StartAsync(workers: 1);
        var id = await farm.SubmitAsync("""
            name: measured
            model: tiny
            prompts: ["a measured cat"]
            seeds: [1, 2]
            steps: [2]
            size: ["64x64"]
            """);
        Assert.Equal("succeeded", (await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3))).Status);

        using var anonymous = new HttpClient { BaseAddress = farm.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("metrics")).StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestApiKeys.Reader);
        var coordinator = await anonymous.GetStringAsync("metrics");
        // The worker's listener is open, like its probes.
        using var plain = new HttpClient();
        var worker = await plain.GetStringAsync(new Uri(farm.WorkerUrls[0], "metrics"));
        output.WriteLine(coordinator);
        output.WriteLine(worker);

        AssertSeries(coordinator, CoordinatorSeries);
        AssertSeries(worker, WorkerSeries);
        // Positive, however fast the render was (a tiny 64x64 render takes a fraction of a second).
        var gpuSeconds = System.Text.RegularExpressions.Regex.Match(worker, @"seg_worker_gpu_seconds_total\{[^}]*model=""tiny""[^}]*\} (\S+)");
        Assert.True(gpuSeconds.Success, "seg_worker_gpu_seconds_total{model=\"tiny\"} is missing");
        Assert.True(double.Parse(gpuSeconds.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, gpuSeconds.Value);
        Assert.Matches(@"seg_render_stage_duration_seconds_count\{[^}]*stage=""denoise""[^}]*\} 2", worker);
        // The sweep has ended, so no open sweep has tasks. The coordinator samples the gauge every 5 s
        // (TaskCountSampler.Interval), and the last sample may predate the end: wait up to three samples.
        var ended = new Regex(@"seg_tasks\{[^}]*status=""succeeded""[^}]*\} 0");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!ended.IsMatch(coordinator) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            coordinator = await anonymous.GetStringAsync("metrics");
        }
        Assert.Matches(ended, coordinator);
        // Low cardinality: no label names a task or a sweep.
        Assert.DoesNotMatch("task_id|sweep_id|seg_task_id", coordinator + worker);
    }

    private static void AssertSeries(string exposition, (string Name, string Label)[] series)
    {
        foreach (var (name, label) in series)
        {
            var lines = exposition.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)).ToList();
            Assert.True(lines.Count > 0, $"{name} is missing from:\n{string.Join("\n", MetricNames(exposition))}");
            if (label.Length > 0)
            {
                Assert.Contains(lines, l => l.Contains(label + "=\"", StringComparison.Ordinal));
            }
        }
    }

    /// <summary>The metric names of an exposition (from its <c># TYPE</c> lines).</summary>
    public static IEnumerable<string> MetricNames(string exposition) =>
        TypeLine().Matches(exposition).Select(m => m.Groups[1].Value).Distinct();

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
