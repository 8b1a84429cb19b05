namespace Seg.Farm.Tests;

/// <summary>
/// The farm end to end: a real coordinator process and real worker processes over RabbitMQ, PostgreSQL and
/// Azurite, rendering with the tiny model.
/// </summary>
public class FarmTests
{
    private static string Sweep(string name, int prompts, int seeds, string size = "64x64", int steps = 2, string segScales = "[0, 3]", string model = "tiny") => $$"""
        name: {{name}}
        model: {{model}}
        prompts: [{{string.Join(", ", Enumerable.Range(1, prompts).Select(i => $"\"a photo of cat number {i}\""))}}]
        seeds: {start: 1, count: {{seeds}}}
        seg_scale: {{segScales}}
        seg_blur_sigma: [inf]
        guidance_scale: [5]
        steps: [{{steps}}]
        size: ["{{size}}"]
        """;

    [Fact]
    public async Task A_12_task_sweep_renders_on_two_worker_processes_with_full_provenance()
    {
        await using var farm = await Farm.StartAsync(workers: 2);
        var id = await farm.SubmitAsync(Sweep("twelve", prompts: 2, seeds: 3));

        var (status, progress) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(4));
        Assert.True(status == "succeeded", farm.Logs());
        Assert.Contains(progress, p => p > 0 && p < 1); // progress seen on the way
        Assert.Equal(1.0, progress[^1]);

        Assert.Equal(12, (await farm.BlobNamesAsync()).Count);
        Assert.Equal(12L, (await farm.QueryAsync<long>("select count(*) from images")).Single());
        // Every provenance field is filled.
        foreach (var column in new[] { "prompt", "scheduler", "seg_layers", "model", "model_file_hashes_json", "software_version", "worker_id",
                     "worker_host", "device", "onnx_runtime_version", "execution_provider", "timings_json", "image_sha256", "blob_uri", "parameters_json" })
        {
            Assert.Equal(0L, (await farm.QueryAsync<long>($"select count(*) from images where coalesce({column}::text, '') in ('', '{{}}')")).Single());
        }
        // SEG tasks record the patch version; the tasks without SEG have none to record.
        Assert.Equal(6L, (await farm.QueryAsync<long>("select count(*) from images where seg_scale > 0 and patch_version <> ''")).Single());
        // Both workers took part.
        Assert.Equal(2, (await farm.QueryAsync<string>("select distinct worker_id from images")).Count);
        Assert.True((await farm.QueryAsync<double>("select sum(gpu_seconds) from render_tasks")).Single() > 0);
    }

    [Fact]
    public async Task A_worker_killed_mid_render_loses_nothing_and_duplicates_nothing()
    {
        await using var farm = await Farm.StartAsync(workers: 2);
        // 512x512 with 8 steps: a few seconds per image on this machine, long enough to kill a worker mid-render.
        var id = await farm.SubmitAsync(Sweep("kill", prompts: 2, seeds: 2, size: "512x512", steps: 8, segScales: "[3]"));

        string? victimTask = null;
        await farm.WaitUntilAsync(async () =>
        {
            victimTask = (await farm.QueryAsync<Guid>("select id from render_tasks where status = 'running' and worker_id = 'worker-1'"))
                .Select(g => g.ToString()).FirstOrDefault();
            return victimTask is not null;
        }, TimeSpan.FromMinutes(2), "worker-1 to start a task");
        await Task.Delay(TimeSpan.FromSeconds(1));
        farm.Kill(farm.Workers[0]);

        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(5));
        Assert.True(status == "succeeded", farm.Logs());
        Assert.Equal(4L, (await farm.QueryAsync<long>("select count(*) from images")).Single());
        Assert.Equal(4L, (await farm.QueryAsync<long>("select count(distinct task_id) from images")).Single());
        Assert.Equal(4, (await farm.BlobNamesAsync()).Count);
        // The task in hand when worker-1 died was delivered again and finished on worker-2.
        Assert.Equal("worker-2", (await farm.QueryAsync<string>($"select worker_id from images where task_id = '{victimTask}'")).Single());
    }

    [Fact]
    public async Task Seg_run_with_farm_submits_and_follows_the_sweep_to_the_end()
    {
        await using var farm = await Farm.StartAsync(workers: 1);
        var sweep = Path.Combine(Path.GetTempPath(), $"seg-farm-run-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sweep, Sweep("via-cli", prompts: 1, seeds: 2));
        try
        {
            var seg = Path.Combine(FarmProcess.RepoRoot, "src", "Seg.Cli", "bin", FarmProcess.Configuration, "net10.0", "seg.dll");
            // A wrong key: one clear line, the user-error exit code, nothing submitted.
            var refused = new System.Diagnostics.ProcessStartInfo("dotnet", [seg, "run", sweep, "--farm", farm.Http.BaseAddress!.ToString(), "--api-key", "not-a-key-of-this-farm"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (var wrong = System.Diagnostics.Process.Start(refused)!)
            {
                var wrongError = wrong.StandardError.ReadToEndAsync();
                Assert.True(wrong.WaitForExit(TimeSpan.FromMinutes(1)), "seg run --farm with a wrong key did not finish");
                Assert.Equal(2, wrong.ExitCode);
                Assert.Contains("error: the coordinator refused the API key: the API key is not valid", await wrongError);
                Assert.Equal(0L, (await farm.QueryAsync<long>("select count(*) from sweeps")).Single());
            }

            var start = new System.Diagnostics.ProcessStartInfo("dotnet", [seg, "run", sweep, "--farm", farm.Http.BaseAddress!.ToString()])
            {
                // The key from the environment, as a CI job passes it.
                Environment = { ["SEG_API_KEY"] = TestApiKeys.Admin },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = System.Diagnostics.Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "seg run --farm did not finish");
            Assert.True(process.ExitCode == 0, await stderr + await stdout + farm.Logs());
            Assert.Contains(": succeeded, 4 succeeded, 0 failed", await stdout);
            Assert.Contains("submitted sweep", await stderr);
            Assert.Equal(4L, (await farm.QueryAsync<long>("select count(*) from images")).Single());
            Assert.Equal("test-admin", (await farm.QueryAsync<string>("select submitted_by from sweeps")).Single());
        }
        finally
        {
            File.Delete(sweep);
        }
    }

    [Fact]
    public async Task One_idempotency_key_gives_one_sweep()
    {
        await using var farm = await Farm.StartAsync(workers: 1);
        var yaml = Sweep("idempotent", prompts: 1, seeds: 2);
        var first = await farm.SubmitAsync(yaml, idempotencyKey: "same-key");
        var second = await farm.SubmitAsync(yaml, idempotencyKey: "same-key");
        Assert.Equal(first, second);
        Assert.Equal(1L, (await farm.QueryAsync<long>("select count(*) from sweeps")).Single());
        Assert.Equal(4L, (await farm.QueryAsync<long>("select count(*) from render_tasks")).Single());
        var (status, _) = await farm.WaitForSweepAsync(first, TimeSpan.FromMinutes(3));
        Assert.Equal("succeeded", status);
    }

    [Fact]
    public async Task Cancel_stops_dispatch_and_pause_then_resume_finishes_the_sweep()
    {
        await using var farm = await Farm.StartAsync(workers: 1, maxInFlight: 2);
        var id = await farm.SubmitAsync(Sweep("cancel", prompts: 2, seeds: 4, size: "256x256", steps: 6, segScales: "[3]"));
        await farm.WaitUntilAsync(async () => (await farm.QueryAsync<long>("select count(*) from render_tasks where status = 'succeeded'")).Single() >= 1,
            TimeSpan.FromMinutes(2), "the first image");

        using (var cancel = await farm.Http.PostAsync($"api/sweeps/{id}/cancel", null))
        {
            Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
        }
        var cancelledAt = DateTimeOffset.UtcNow;
        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(2));
        Assert.Equal("cancelled", status);
        await Task.Delay(TimeSpan.FromSeconds(3));
        // Nothing started after cancel returned; what was running finished; the rest was cancelled.
        Assert.Equal(0L, (await farm.QueryAsync<long>($"select count(*) from render_tasks where started_at > '{cancelledAt:O}'")).Single());
        Assert.True((await farm.QueryAsync<long>("select count(*) from render_tasks where status = 'cancelled'")).Single() >= 4);

        var paused = await farm.SubmitAsync(Sweep("pause", prompts: 1, seeds: 3, size: "128x128", steps: 4, segScales: "[3]"));
        using (var pause = await farm.Http.PostAsync($"api/sweeps/{paused}/pause", null))
        {
            Assert.True(pause.IsSuccessStatusCode, await pause.Content.ReadAsStringAsync());
        }
        var pausedAt = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(4));
        // Pause stops dispatch; tasks already sent to the workers before it returned may still finish.
        Assert.Equal(0L, (await farm.QueryAsync<long>($"select count(*) from render_tasks where sweep_id = '{paused}' and queued_at > '{pausedAt:O}'")).Single());
        Assert.True((await farm.QueryAsync<long>($"select count(*) from render_tasks where sweep_id = '{paused}' and status = 'pending'")).Single() >= 1);
        Assert.Equal("paused", (await farm.GetSweepAsync(paused)).GetProperty("status").GetString());

        using (var resume = await farm.Http.PostAsync($"api/sweeps/{paused}/resume", null))
        {
            Assert.True(resume.IsSuccessStatusCode, await resume.Content.ReadAsStringAsync());
        }
        var (resumed, _) = await farm.WaitForSweepAsync(paused, TimeSpan.FromMinutes(2));
        Assert.Equal("succeeded", resumed);
    }

    [Fact]
    public async Task A_task_whose_model_is_missing_fails_with_that_reason_while_the_others_succeed()
    {
        await using var farm = await Farm.StartAsync(workers: 1);
        var broken = await farm.SubmitAsync(Sweep("broken", prompts: 1, seeds: 1, segScales: "[3]", model: "no-such-model"));
        var good = await farm.SubmitAsync(Sweep("good", prompts: 1, seeds: 2));

        Assert.Equal("failed", (await farm.WaitForSweepAsync(broken, TimeSpan.FromMinutes(2))).Status);
        Assert.Equal("succeeded", (await farm.WaitForSweepAsync(good, TimeSpan.FromMinutes(2))).Status);
        var reason = (await farm.QueryAsync<string>($"select last_error from render_tasks where sweep_id = '{broken}'")).Single();
        Assert.Contains("no-such-model", reason);
        // A permanent failure is not retried: one attempt.
        Assert.Equal(1, (await farm.QueryAsync<int>($"select attempts from render_tasks where sweep_id = '{broken}'")).Single());
    }
}
