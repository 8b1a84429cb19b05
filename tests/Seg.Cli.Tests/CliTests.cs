using System.Diagnostics;
using System.Text.Json;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;

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
        var images = Directory.GetFiles(Path.Combine(seg.WorkDir, "demo", "images"), "*.png", SearchOption.AllDirectories);
        Assert.Equal(16, images.Length);
        Assert.True(File.Exists(Path.Combine(seg.WorkDir, "demo", "provenance.db")));
        Assert.Contains($"provenance: {Path.Combine(seg.WorkDir, "demo", "provenance.db")}", stdout);
        // Every PNG carries its provenance.
        Assert.All(images, png => Assert.NotNull(RenderProvenance.FromPng(File.ReadAllBytes(png))));
    }

    [Fact]
    public void An_invalid_sweep_is_rejected_field_by_field_and_creates_nothing()
    {
        var sweep = Path.Combine(seg.WorkDir, "bad.yaml");
        File.WriteAllText(sweep, "model: tiny\nprompts: []\nseeds: {start: 0, count: 0}\nseg_blur_sigma: [-1]\nsize: 100x64\nscheduler: heun\n");
        var (code, _, stderr) = seg.Run("run", sweep, "--out", "bad-run");
        Assert.Equal(2, code);
        Assert.Contains("prompts:", stderr);
        Assert.Contains("seeds.count:", stderr);
        Assert.Contains("seg_blur_sigma[0]:", stderr);
        Assert.Contains("size[0]:", stderr);
        Assert.Contains("scheduler[0]:", stderr);
        Assert.False(Directory.Exists(Path.Combine(seg.WorkDir, "bad-run")));
    }
}
