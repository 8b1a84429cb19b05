using Microsoft.EntityFrameworkCore;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Tests;

/// <summary>
/// The steps of bench/sweep-status-bench.sh at a size CI affords, for correctness only (the speed is the benchmark's,
/// docs/performance.md): the sweep and the list show exact counts from the counters; a cancel larger than
/// <see cref="SweepTransitions.ImmediateCancelLimit"/> answers with every task cancelled at once, and the pending rows
/// left to the dispatcher's batches end cancelled, the counters equal to a count of the rows.
/// </summary>
public sealed class SweepStatusScaleTests(DefaultCoordinatorFixture app) : IClassFixture<DefaultCoordinatorFixture>
{
    private const int Tasks = SweepTransitions.ImmediateCancelLimit + 5_000;

    [Fact]
    public async Task A_large_sweep_shows_exact_counts_and_its_cancel_ends_every_task()
    {
        var sweep = await app.SubmitAsync($"name: large\nmodel: m\nprompts: [a]\nseeds: {{start: 0, count: {Tasks}}}\n");
        await CoordinatorTestHost.EventuallyAsync(
            async () => (await app.GetJsonAsync($"/api/sweeps/{sweep}")).GetProperty("tasks").GetProperty("queued").GetInt32() > 0, "the first dispatch");

        var shown = await app.GetJsonAsync($"/api/sweeps/{sweep}");
        var tasks = shown.GetProperty("tasks");
        Assert.Equal(Tasks, shown.GetProperty("taskCount").GetInt32());
        Assert.Equal(Tasks, tasks.GetProperty("pending").GetInt32() + tasks.GetProperty("queued").GetInt32());
        Assert.Equal(await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Queued)),
            tasks.GetProperty("queued").GetInt32());
        var listed = (await app.GetJsonAsync("/api/sweeps")).GetProperty("items").EnumerateArray().Single(s => s.GetProperty("id").GetGuid() == sweep);
        Assert.Equal(tasks.GetProperty("pending").GetInt32(), listed.GetProperty("tasks").GetProperty("pending").GetInt32());

        using (var cancel = await app.PostAsync($"/api/sweeps/{sweep}/cancel"))
        {
            var body = await cancel.Content.ReadAsStringAsync();
            Assert.True(cancel.IsSuccessStatusCode, body);
            Assert.Contains($"\"tasksAffected\":{Tasks}", body, StringComparison.Ordinal);
        }

        var cancelled = await app.GetJsonAsync($"/api/sweeps/{sweep}");
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(Tasks, cancelled.GetProperty("tasks").GetProperty("cancelled").GetInt32());
        Assert.Equal(0, cancelled.GetProperty("tasks").GetProperty("pending").GetInt32());
        Assert.Equal(1.0, cancelled.GetProperty("progress").GetDouble());

        // The rows follow in batches; then rows and counters agree.
        await CoordinatorTestHost.EventuallyAsync(
            async () => await app.WithDbAsync(db => db.RenderTasks.CountAsync(t => t.SweepId == sweep && t.Status == RenderTaskStatus.Cancelled)) == Tasks,
            "every row cancelled", TimeSpan.FromMinutes(2));
        var counters = await app.WithDbAsync(db => db.SweepCounters.AsNoTracking().SingleAsync(c => c.SweepId == sweep));
        Assert.Equal((0, 0, 0, Tasks), (counters.Pending, counters.Queued, counters.Running, counters.Cancelled));
    }
}
