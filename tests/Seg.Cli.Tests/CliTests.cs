using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Seg.Worker.Rendering;

namespace Seg.Cli.Tests;

public class CliTests(SegProcess seg) : IClassFixture<SegProcess>
{
    [Fact]
    public void Render_writes_a_png_with_provenance_and_npy_files_numpy_loads()
    {
        var (code, stdout, stderr) = seg.Run("render", "--prompt", "a photo of a cat", "--steps", "3", "--width", "64", "--height", "96",
            "--seed", "5", "--out", "cat.png", "--save-noise", "noise.npy", "--save-latents", "latents.npy");
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote", stdout);

        var png = File.ReadAllBytes(Path.Combine(seg.WorkDir, "cat.png"));
        var provenance = RenderProvenance.FromPng(png)!;
        Assert.Equal(("a photo of a cat", 5L, 64, 96, 3.0, "inf", "mid"),
            (provenance.Parameters.Prompt, provenance.Parameters.Seed, provenance.Parameters.Width, provenance.Parameters.Height, provenance.Parameters.SegScale, SegBlurSigma.Format(provenance.Parameters.SegBlurSigma), provenance.Parameters.SegLayers));

        var output = Python($"import numpy as np; n = np.load('noise.npy'); l = np.load('latents.npy'); print(n.dtype, n.shape, l.shape, bool(np.isfinite(l).all()))");
        Assert.Equal("float32 (1, 4, 12, 8) (1, 4, 12, 8) True", output.Trim());
    }

    [Fact]
    public void Several_sigmas_write_one_png_each()
    {
        var (code, _, stderr) = seg.Run("render", "--prompt", "a fox", "--steps", "2", "--width", "64", "--height", "64",
            "--seg-sigma", "1,inf", "--out", "fox.png");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(seg.WorkDir, "fox-sigma1.png")));
        Assert.True(File.Exists(Path.Combine(seg.WorkDir, "fox-sigmainf.png")));
    }

    [Theory]
    [InlineData("width must be a multiple of 8", "--width", "100")]
    [InlineData("steps must be between 1 and 1000", "--steps", "0")]
    [InlineData("seg_scale must be >= 0 (got -1)", "--seg-scale", "-1")]
    [InlineData("guidance_scale must be >= 0 (got -2)", "--guidance-scale", "-2")]
    [InlineData("scheduler must be one of", "--scheduler", "heun")]
    [InlineData("seg_blur_sigma must be > 0 or \"inf\" (got 0)", "--seg-sigma", "0")]
    [InlineData("seg_blur_sigma must be a number or \"inf\" (got 'wide')", "--seg-sigma", "1,wide")]
    [InlineData("seed must be a whole number between 0 and 9223372036854775807 (2^63-1) (got -3)", "--seed", "-3")]
    [InlineData("seg_window must be [start, stop] with 0 <= start < stop <= 1 (got [0.5, 0.2])", "--seg-window", "0.5,0.2")]
    [InlineData("device must be", "--device", "tpu")]
    public void Bad_input_names_the_field_and_writes_nothing(string message, string option, string value)
    {
        var output = $"bad-{Guid.NewGuid():N}.png";
        var arguments = new Dictionary<string, string> { ["--prompt"] = "x", ["--steps"] = "2", ["--width"] = "64", ["--height"] = "64" };
        arguments[option] = value;
        var (code, _, stderr) = seg.Run(["render", .. arguments.SelectMany(a => new[] { a.Key, a.Value }), "--out", output, "--save-noise", "bad.npy"]);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr); // no stack trace for a user error
        Assert.False(File.Exists(Path.Combine(seg.WorkDir, output)));
        Assert.False(File.Exists(Path.Combine(seg.WorkDir, "bad.npy")));
    }

    [Fact]
    public void A_negative_sigma_is_one_line_naming_the_field_and_the_rule()
    {
        var (code, stdout, stderr) = seg.Run("render", "--prompt", "x", "--steps", "2", "--seg-sigma", "-1", "--out", "negative.png");

        Assert.Equal(2, code);
        Assert.Equal("error: seg_blur_sigma must be > 0 or \"inf\" (got -1)", stderr.Trim());
        Assert.Equal("", stdout);
        Assert.False(File.Exists(Path.Combine(seg.WorkDir, "negative.png")));
    }

    [Theory]
    [InlineData("Cannot parse argument 'many' for option '--steps'", "render", "--prompt", "x", "--steps", "many")]
    [InlineData("Unrecognized command or argument '--colour'", "render", "--prompt", "x", "--colour", "red")]
    [InlineData("Required argument missing for command: 'run'", "run")]
    public void Argument_errors_exit_with_the_code_of_validation_errors(string message, params string[] args)
    {
        var (code, stdout, stderr) = seg.Run(args);
        Assert.Equal(2, code);
        Assert.Contains($"error: {message}", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void The_render_options_default_to_the_parameters_defaults()
    {
        var (code, stdout, _) = seg.Run("render", "--help");

        Assert.Equal(0, code);
        Assert.Matches(@"--steps\s.*Denoising steps\.\s*\[default: 30\]", stdout);
        Assert.Matches(@"--seg-sigma\s.*\[default: inf\]", stdout);
        Assert.Matches(@"--seg-layers\s.*\[default: mid\]", stdout);
        Assert.Matches(@"--scheduler\s.*euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras\.\s*\[default: euler\]", stdout);
    }

    [Fact]
    public void A_missing_model_folder_is_named()
    {
        var (code, _, stderr) = seg.Run("render", "--prompt", "x", "--model", "/nonexistent/sdxl", "--out", "never.png");
        Assert.Equal(2, code);
        Assert.Contains("model: folder '/nonexistent/sdxl' does not exist", stderr);
        Assert.False(File.Exists(Path.Combine(seg.WorkDir, "never.png")));
    }

    [Fact]
    public void Tokenize_prints_both_tokenizers_ids_and_warns_on_truncation()
    {
        var (code, stdout, stderr) = seg.Run("tokenize", "a photo of a cat");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        int[] Ids(string name) => json.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407, 49407], Ids("tokenizer")[..8]);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407, 0], Ids("tokenizer_2")[..8]);
        Assert.Equal(77, Ids("tokenizer").Length);
        Assert.DoesNotContain("warning", stderr);

        var (_, longOut, longErr) = seg.Run("tokenize", string.Join(' ', Enumerable.Repeat("dog", 80)));
        Assert.Contains("\"truncated\":true", longOut);
        Assert.Contains("warning: the prompt has 80 tokens", longErr);
    }

    [Fact]
    public void Tiny_model_and_patch_commands_write_what_they_say()
    {
        var folder = Path.Combine(seg.WorkDir, "tiny16");
        var (code, _, stderr) = seg.Run("tiny-model", folder, "--fp16");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(folder, "unet", "model.onnx")));

        var patched = Path.Combine(seg.WorkDir, "patched");
        var (patchCode, stdout, patchErr) = seg.Run("patch", "--model", folder, "--layers", "d0,m0", "--out", patched);
        Assert.True(patchCode == 0, patchErr);
        Assert.Contains("patched 2 attn1 layer(s) (d0,m0)", stdout);
        Assert.Contains("float16", stdout);
        Assert.True(File.Exists(Path.Combine(patched, "model.onnx")));

        var (badCode, _, badErr) = seg.Run("patch", "--model", folder, "--layers", "u12");
        Assert.Equal(2, badCode);
        Assert.Contains("u12", badErr);
    }

    private string Python(string code)
    {
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", code]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = seg.WorkDir };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python3 with numpy failed (scripts/test.sh installs Debian's python3-numpy): {error}");
        return output;
    }
}

public class RunCommandTests(SegProcess seg) : IClassFixture<SegProcess>
{
    [Fact]
    public void The_demo_sweep_runs_standalone_and_says_where_everything_is()
    {
        var demo = Path.Combine(TestPaths.RepoRoot, "examples", "demo-sweep.yaml");
        var (code, stdout, stderr) = seg.Run("run", demo, "--out", "demo");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("sweep demo: succeeded, 16 succeeded, 0 failed", stdout);
        Assert.Contains("GPU-seconds", stdout);
        var database = Path.Combine(seg.WorkDir, "demo", "provenance.db");
        Assert.Contains($"provenance: {database} (SQLite: tables images, render_tasks, sweep_counters, sweeps, workers)", stdout);

        // Nested once, named so that a person can tell them apart; the task id is in the PNG's provenance.
        var imagesFolder = Path.Combine(seg.WorkDir, "demo", "images");
        Assert.Empty(Directory.GetDirectories(imagesFolder));
        var images = Directory.GetFiles(imagesFolder, "*.png").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(16, images.Count);
        Assert.All(images, png => Assert.Matches(@"^\d{4}-seed\d+-sigma(inf|[0-9.]+)-seg[0-9.]+-cfg[0-9.]+\.png$", Path.GetFileName(png)));
        Assert.Equal("0000-seed1-sigma1-seg0-cfg5.png", Path.GetFileName(images[0]));
        var taskIds = images.Select(png =>
        {
            var bytes = File.ReadAllBytes(png);
            Assert.NotNull(RenderProvenance.FromPng(bytes));
            return TaskPngText.Read(bytes)!.TaskId;
        }).ToHashSet();
        Assert.Equal(16, taskIds.Count);

        // The worker's row tells the end of the run: idle, every task counted.
        using var sqlite = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        sqlite.Open();
        using var query = sqlite.CreateCommand();
        query.CommandText = "SELECT busy, tasks_done FROM workers";
        using var row = query.ExecuteReader();
        Assert.True(row.Read());
        Assert.Equal(0L, row.GetInt64(0));
        Assert.Equal(16L, row.GetInt64(1));
        Assert.False(row.Read());
    }

    [Fact]
    public void A_standalone_sweep_whose_model_folder_does_not_exist_is_refused_before_anything_runs()
    {
        var sweep = Path.Combine(seg.WorkDir, "missing-model.yaml");
        File.WriteAllText(sweep, "model: no-such-model\nprompts: [a cat]\nseeds: [1]\nsteps: 2\nsize: 64x64\n");
        var (code, stdout, stderr) = seg.Run("run", sweep, "--out", "missing-model-run");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: sweep '{sweep}' is not valid: model: folder '{Path.Combine(seg.WorkDir, "no-such-model")}' does not exist", line);
        Assert.DoesNotContain("coordinator", line);
        Assert.Empty(stdout);
        Assert.False(Directory.Exists(Path.Combine(seg.WorkDir, "missing-model-run")));
    }

    [Fact]
    public void Failed_tasks_are_reported_once_per_reason_without_warnings()
    {
        // A folder that exists but holds no model: every task fails at render time, for the same reason.
        Directory.CreateDirectory(Path.Combine(seg.WorkDir, "empty-model"));
        var sweep = Path.Combine(seg.WorkDir, "empty-model.yaml");
        File.WriteAllText(sweep, "name: empty-model\nmodel: empty-model\nprompts: [a cat]\nseeds: [1, 2]\nsteps: 2\nsize: 64x64\n");
        var (code, stdout, stderr) = seg.Run("run", sweep, "--out", "empty-model-run");
        Assert.Equal(1, code);
        Assert.Contains("sweep empty-model: failed, 0 succeeded, 2 failed", stdout);
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("failed: ", StringComparison.Ordinal));
        // EF Core's warning about a row limit without an order (the failure report's query orders its rows).
        Assert.DoesNotContain("row limiting operator", stderr);
    }

    [Fact]
    public void An_invalid_sweep_is_rejected_field_by_field_and_creates_nothing()
    {
        var sweep = Path.Combine(seg.WorkDir, "bad.yaml");
        File.WriteAllText(sweep, "model: tiny\nprompts: []\nseeds: {start: 0, count: 0}\nseg_blur_sigma: [-1]\nsize: 100x64\nscheduler: heun\n");
        var (code, _, stderr) = seg.Run("run", sweep, "--out", "bad-run");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: sweep '{sweep}' is not valid:", stderr);
        Assert.DoesNotContain("coordinator", stderr);
        Assert.Contains("prompts:", stderr);
        Assert.Contains("seeds.count:", stderr);
        Assert.Contains("seg_blur_sigma[0]:", stderr);
        Assert.Contains("size[0]:", stderr);
        Assert.Contains("scheduler[0]:", stderr);
        Assert.False(Directory.Exists(Path.Combine(seg.WorkDir, "bad-run")));
    }
}

public class InstallTests
{
    [Fact]
    public void The_install_script_puts_seg_on_a_tool_path_and_it_runs()
    {
        var toolPath = Path.Combine(Path.GetTempPath(), $"seg-tool-{Guid.NewGuid():N}");
        try
        {
            var script = Path.Combine(TestPaths.RepoRoot, "scripts", "install-seg.sh");
            var (installCode, installOutput) = Run("bash", [script, "--tool-path", toolPath], TimeSpan.FromMinutes(10));
            Assert.True(installCode == 0, installOutput);

            var (code, output) = Run(Path.Combine(toolPath, "seg"), ["--help"], TimeSpan.FromMinutes(1));
            Assert.True(code == 0, output);
            Assert.Contains("Usage:", output);
            Assert.Contains("run", output);
            Assert.Contains("render", output);
        }
        finally
        {
            if (Directory.Exists(toolPath))
            {
                Directory.Delete(toolPath, recursive: true);
            }
        }
    }

    private static (int ExitCode, string Output) Run(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
