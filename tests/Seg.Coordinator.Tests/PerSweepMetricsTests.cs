using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Monitoring;

namespace Seg.Coordinator.Tests;

/// <summary>A coordinator that exports per-sweep series for at most two sweeps.</summary>
public sealed class PerSweepMetricsFixture : CoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Telemetry:PerSweepMetrics"] = "true",
        ["Telemetry:PerSweepMetricsMaxSweeps"] = "2",
    };
}

/// <summary>
/// <c>Telemetry:PerSweepMetrics</c> on <c>/metrics</c> of a real coordinator: series for the most recent open sweeps up
/// to the cap, the rest summed as <c>sweep_id="other"</c>, and a sweep's series gone once it ends.
/// </summary>
public sealed partial class PerSweepMetricsTests(PerSweepMetricsFixture app) : IClassFixture<PerSweepMetricsFixture>
{
    [Fact]
    public async Task The_two_most_recent_open_sweeps_have_series_the_third_is_summed_as_other_and_an_ended_sweep_leaves()
    {
        var oldest = await app.SubmitAsync("name: oldest\nmodel: m\nprompts: [a]\nseeds: [1]\n");
        var middle = await app.SubmitAsync("name: middle\nmodel: m\nprompts: [a]\nseeds: [1, 2]\n");
        var newest = await app.SubmitAsync("name: newest\nmodel: m\nprompts: [a]\nseeds: [1, 2, 3]\n");
        // Creation times minutes apart, whatever the clock's resolution: the cap keeps the newest.
        var now = DateTimeOffset.UtcNow;
        await app.WithDbAsync(async db =>
        {
            foreach (var (id, age) in new[] { (oldest, 3), (middle, 2), (newest, 1) })
            {
                await db.Sweeps.Where(s => s.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.CreatedAt, now.AddMinutes(-age)));
            }
            return 0;
        });

        var series = await EventuallySweepSeriesAsync(ids => ids.SetEquals([middle.ToString(), newest.ToString(), PerSweepMetrics.Other]));
        // Every status of each of them (six), and the task counts: pending or already queued, they add up.
        Assert.All(series.GroupBy(s => s.SweepId), g => Assert.Equal(6, g.Count()));
        Assert.Equal(3, series.Where(s => s.SweepId == newest.ToString()).Sum(s => s.Value));
        Assert.Equal(2, series.Where(s => s.SweepId == middle.ToString()).Sum(s => s.Value));
        Assert.Equal(1, series.Where(s => s.SweepId == PerSweepMetrics.Other).Sum(s => s.Value));
        Assert.Equal(["middle", "newest", "other"], series.Select(s => s.SweepName).Distinct().Order());
        var metrics = await app.Client.GetStringAsync("/metrics");
        Assert.Equal(3, SweepLine().Matches(metrics).Count(m => m.Groups["name"].Value == "seg_sweep_gpu_seconds"));
        Assert.DoesNotContain(oldest.ToString(), metrics, StringComparison.Ordinal);

        // The newest ends: its series go, and the oldest gets series of its own (two open sweeps, nothing to sum).
        using (var cancel = await app.PostAsync($"/api/sweeps/{newest}/cancel"))
        {
            Assert.True(cancel.IsSuccessStatusCode, $"cancel answered {(int)cancel.StatusCode}");
        }
        series = await EventuallySweepSeriesAsync(ids => ids.SetEquals([oldest.ToString(), middle.ToString()]));
        Assert.Equal(1, series.Where(s => s.SweepId == oldest.ToString()).Sum(s => s.Value));
    }

    /// <summary>Scrapes <c>/metrics</c> until the <c>seg_sweep_tasks</c> series name the sweeps <paramref name="expected"/> wants.</summary>
    private async Task<List<(string SweepId, string SweepName, string Status, long Value)>> EventuallySweepSeriesAsync(Func<HashSet<string>, bool> expected)
    {
        List<(string SweepId, string SweepName, string Status, long Value)> series = [];
        string metrics = "";
        // The sampler runs every 5 s; a loaded machine may take a few rounds.
        await CoordinatorFixture.EventuallyAsync(async () =>
        {
            metrics = await app.Client.GetStringAsync("/metrics");
            series = [.. SweepLine().Matches(metrics).Where(m => m.Groups["name"].Value == "seg_sweep_tasks").Select(m => (
                Label(m, "sweep_id"), Label(m, "sweep_name"), Label(m, "status"), long.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture)))];
            return expected(series.Select(s => s.SweepId).ToHashSet());
        }, "the expected per-sweep series on /metrics", TimeSpan.FromSeconds(60));
        return series;
    }

    private static string Label(Match line, string name) =>
        Regex.Match(line.Groups["labels"].Value, name + "=\"([^\"]*)\"") is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException($"no {name} in {line.Value}");

    [GeneratedRegex(@"^(?<name>seg_sweep_\w+)\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SweepLine();
}

/// <summary>The cap is checked at start, naming the setting.</summary>
public sealed class PerSweepMetricsOptionsTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("1001")]
    public void A_cap_out_of_range_is_refused_naming_the_setting(string cap)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telemetry:PerSweepMetrics"] = "true",
            ["Telemetry:PerSweepMetricsMaxSweeps"] = cap,
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddCoordinatorCore(configuration).BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PerSweepMetricsOptions>>().Value);
        Assert.Contains(nameof(PerSweepMetricsOptions.PerSweepMetricsMaxSweeps), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_sweep_series_are_off_by_default_with_a_cap_of_20()
    {
        var configuration = new ConfigurationBuilder().Build();
        using var services = new ServiceCollection().AddLogging().AddCoordinatorCore(configuration).BuildServiceProvider();
        var metrics = services.GetRequiredService<PerSweepMetrics>();
        Assert.False(metrics.Enabled);
        Assert.Equal(20, metrics.MaxSweeps);
    }
}
