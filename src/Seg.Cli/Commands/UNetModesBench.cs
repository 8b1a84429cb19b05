using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline;
using Seg.Pipeline.Models;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.UNet;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg bench unet</c>: UNet calls of one step for plain, CFG, SEG and SEG+CFG sampling, SEG batched (every item
/// through the whole UNet) and forked (shared prefix), interleaved in one run, next to the prediction from the
/// model's FLOPs; then the blur's and the fork's share of UNet time from an ONNX Runtime profile.
/// <para>
/// One session of the forked patch serves every mode, because a model of SDXL's size fits in memory once: fork rows
/// that copy each input row once run the whole batch through the whole UNet, which is the batched computation
/// (the blurred item's inputs equal the cond item's), plus identity gathers at the fork whose cost the profile shows.
/// </para>
/// </summary>
internal static class UNetModesBench
{
    private sealed record Mode(string Name, int InputRows, long[] ForkRows, bool[] Blurred);

    private static readonly Mode[] Modes =
    [
        new("plain", 1, [0], [false]),
        new("CFG", 2, [0, 1], [false, false]),
        new("SEG batched", 2, [0, 1], [false, true]),
        new("SEG forked", 1, [0, 0], [false, true]),
        new("SEG+CFG batched", 3, [0, 1, 2], [false, false, true]),
        new("SEG+CFG forked", 2, [0, 1, 1], [false, false, true]),
    ];

    public static int Run(string modelFolder, int size, int calls, string layers, int threads)
    {
        var model = SdxlModelFolder.Open(modelFolder);
        var provider = ExecutionProviderOptions.Cpu with { IntraOpThreads = threads };
        var sessions = new OnnxSessionFactory(provider);
        var patchedPath = PatchedUNetCache.GetOrCreate(model.UNetPath, SegLayerSelection.Parse(layers), new PipelineOptions().PatchCacheFolder, SegPatchMode.Forked);
        var patchedGraph = OnnxModelFile.Load(patchedPath);
        var info = UNetSegPatcher.ReadPatchInfo(patchedGraph)!;
        var weights = Path.GetDirectoryName(model.UNetPath);
        var latent = size / 8;

        var profileDirectory = Directory.CreateTempSubdirectory("seg-bench-profile-").FullName;
        try
        {
            // 1. FLOPs of one item, from the shapes of a profiled call without graph optimisation (so node names are the graph's).
            double sharedFlops, totalFlops;
            using (var unet = new UNetSession(patchedPath, sessions, weights, o =>
            {
                o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                // The prefix first: setting EnableProfiling passes the prefix it has then.
                o.ProfileOutputPathPrefix = Path.Combine(profileDirectory, "flops");
                o.EnableProfiling = true;
            }))
            {
                using var runOptions = new RunOptions();
                unet.Predict(Inputs(unet, info, Modes[0], latent), runOptions);
                var nodes = ReadProfile(unet.EndProfiling());
                var shared = SharedPrefix.Nodes(patchedGraph.Graph, info.ForkTensor!).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
                totalFlops = nodes.Sum(n => n.Flops);
                sharedFlops = nodes.Where(n => shared.Contains(n.Name)).Sum(n => n.Flops);
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"FLOPs per item {totalFlops / 1e9:F1} G, shared {100 * sharedFlops / totalFlops:F2} %"));

            // 2. Timed calls, modes interleaved so that load on a shared machine affects all alike. Each call's CPU time
            // is recorded beside its wall time: on a shared machine the wall time measures the other processes too, the
            // CPU time only this call's work. Spinning is off so that threads waiting between parallel sections do not
            // count as work.
            var times = Modes.ToDictionary(m => m.Name, _ => new List<double>());
            var cpuTimes = Modes.ToDictionary(m => m.Name, _ => new List<double>());
            using (var unet = new UNetSession(patchedPath, sessions, weights, o =>
            {
                o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                LowMemory(o);
            }))
            {
                using var runOptions = new RunOptions();
                var inputs = Modes.ToDictionary(m => m.Name, m => Inputs(unet, info, m, latent));
                foreach (var mode in Modes)
                {
                    unet.Predict(inputs[mode.Name], runOptions); // warm-up: first-call allocations and caches
                }
                for (var round = 0; round < calls; round++)
                {
                    foreach (var mode in Modes)
                    {
                        var cpuBefore = ProcessCpuMilliseconds();
                        var watch = Stopwatch.StartNew();
                        unet.Predict(inputs[mode.Name], runOptions);
                        times[mode.Name].Add(watch.Elapsed.TotalMilliseconds);
                        cpuTimes[mode.Name].Add(ProcessCpuMilliseconds() - cpuBefore);
                        // Each call as it ends: a long run on a busy machine leaves its figures even if stopped.
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"round {round + 1}: {mode.Name} {watch.Elapsed.TotalMilliseconds:F0} ms wall, {cpuTimes[mode.Name][^1]:F0} ms CPU"));
                    }
                }
            }

            // 3. One profiled SEG+CFG forked call: the share of node time in the blur and in the fork's gathers.
            double blurShare, forkShare;
            using (var unet = new UNetSession(patchedPath, sessions, weights, o =>
            {
                // The prefix first: setting EnableProfiling passes the prefix it has then.
                o.ProfileOutputPathPrefix = Path.Combine(profileDirectory, "unet");
                o.EnableProfiling = true;
                LowMemory(o);
            }))
            {
                using var runOptions = new RunOptions();
                var forked = Modes.Single(m => m.Name == "SEG+CFG forked");
                unet.Predict(Inputs(unet, info, forked, latent), runOptions);
                var nodes = ReadProfile(unet.EndProfiling());
                var total = nodes.Sum(n => n.Microseconds);
                blurShare = nodes.Where(n => n.Name.Contains("/seg_blur", StringComparison.Ordinal)).Sum(n => n.Microseconds) / total;
                forkShare = nodes.Where(n => n.Name.StartsWith("/seg_fork/", StringComparison.Ordinal)).Sum(n => n.Microseconds) / total;
            }
            Report(size, calls, layers, info, times, cpuTimes, sharedFlops, totalFlops, blurShare, forkShare);
        }
        finally
        {
            Directory.Delete(profileDirectory, recursive: true);
        }
        return 0;
    }

    /// <summary>
    /// No memory pattern and no CPU arena: the modes' six batch layouts would each keep a planned block, and the arena
    /// keeps the largest call's memory, which at 1024x1024 (10 GB of weights, three rows) went past the machine's 24 GB.
    /// Without them each call allocates and frees its own tensors (megabytes each, a negligible share of a call that
    /// takes tens of seconds), alike for every mode.
    /// </summary>
    private static void LowMemory(SessionOptions options)
    {
        options.EnableMemoryPattern = false;
        options.EnableCpuMemArena = false;
    }

    private static double ProcessCpuMilliseconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalMilliseconds;
    }

    private static void Report(int size, int calls, string layers, SegPatchInfo info, Dictionary<string, List<double>> times,
        Dictionary<string, List<double>> cpuTimes, double sharedFlops, double totalFlops, double blurShare, double forkShare)
    {
        static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        var ms = times.ToDictionary(t => t.Key, t => BenchCommand.Median(t.Value));
        var cpu = cpuTimes.ToDictionary(t => t.Key, t => BenchCommand.Median(t.Value));
        var p = sharedFlops / totalFlops;
        Console.Out.WriteLine(F($"seg bench unet: {size}x{size}, SEG layers {layers}, median of {calls} calls per mode, CPUExecutionProvider"));
        Console.Out.WriteLine(F($"MatMul, Gemm and Conv FLOPs per item: {totalFlops / 1e9:F1} G; before the fork ({info.ForkTensor}): {100 * p:F1} %"));
        Console.Out.WriteLine();
        Console.Out.WriteLine("| UNet call | rows in | rows out | wall ms | CPU ms |");
        Console.Out.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var mode in Modes)
        {
            Console.Out.WriteLine(F($"| {mode.Name} | {mode.InputRows} | {mode.ForkRows.Length} | {ms[mode.Name]:F0} | {cpu[mode.Name]:F0} |"));
        }
        Console.Out.WriteLine();
        Console.Out.WriteLine("| ratio | by | batched measured | forked measured | batched predicted | forked predicted |");
        Console.Out.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var (by, t) in new[] { ("wall time", ms), ("CPU time", cpu) })
        {
            Console.Out.WriteLine(F($"| SEG+CFG step / CFG step | {by} | {t["SEG+CFG batched"] / t["CFG"]:F2} | {t["SEG+CFG forked"] / t["CFG"]:F2} | 1.50 | {(3 - p) / 2:F2} |"));
            Console.Out.WriteLine(F($"| SEG step / plain step | {by} | {t["SEG batched"] / t["plain"]:F2} | {t["SEG forked"] / t["plain"]:F2} | 2.00 | {2 - p:F2} |"));
        }
        Console.Out.WriteLine();
        Console.Out.WriteLine(F($"Profiled SEG+CFG forked call: blur nodes {100 * blurShare:F2} % of node time, fork gathers {100 * forkShare:F2} %"));
    }

    /// <summary>Random inputs for a mode: the blur operators are the identity except for blurred rows (infinite blur).</summary>
    private static UNetInputs Inputs(UNetSession unet, SegPatchInfo info, Mode mode, int latent)
    {
        var random = new Random(1);
        float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var rows = mode.InputRows;
        var extra = new List<(string, float[], long[])>();
        foreach (var pair in info.Inputs)
        {
            var n = SegBlurOperator.GridLength(latent, pair.Factor);
            var stacked = mode.Blurred.SelectMany(b => b ? SegBlurOperator.Matrix(n, double.PositiveInfinity) : SegBlurOperator.Identity(n)).ToArray();
            extra.Add((pair.RowsInput, stacked, [mode.Blurred.Length, n, n]));
            extra.Add((pair.ColumnsInput, stacked, [mode.Blurred.Length, n, n]));
        }
        return new UNetInputs(rows, latent, latent, Noise(rows * 4 * latent * latent), 500, 77,
            Noise(rows * 77 * unet.EncoderHiddenSize), Noise(rows * unet.TextEmbedsSize),
            Enumerable.Repeat((float)(latent * 8), rows * 6).ToArray(), extra, mode.ForkRows);
    }

    private sealed record ProfiledNode(string Name, double Microseconds, double Flops);

    /// <summary>Node events of an ONNX Runtime profile: name, duration, and the FLOPs of MatMul, Gemm and Conv from their shapes.</summary>
    private static List<ProfiledNode> ReadProfile(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var nodes = new List<ProfiledNode>();
        foreach (var e in document.RootElement.EnumerateArray())
        {
            if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
            {
                continue;
            }
            var name = e.GetProperty("name").GetString()![..^"_kernel_time".Length];
            var args = e.GetProperty("args");
            var op = args.GetProperty("op_name").GetString();
            var inputs = Shapes(args, "input_type_shape");
            var output = Shapes(args, "output_type_shape").FirstOrDefault() ?? [];
            double outputs = output.Aggregate(1.0, (a, d) => a * d);
            var flops = op switch
            {
                // 2 M N K: each output element is a K-long dot product.
                "MatMul" or "FusedMatMul" when inputs.Count >= 2 => 2 * outputs * inputs[0][^1],
                // Gemm's A is (M, K) (or transposed): K is its size over the output's M rows.
                "Gemm" or "FusedGemm" when inputs.Count >= 2 && output.Length == 2 => 2 * outputs * (inputs[0].Aggregate(1.0, (a, d) => a * d) / output[0]),
                "Conv" or "FusedConv" when inputs.Count >= 2 => 2 * outputs * inputs[1].Skip(1).Aggregate(1.0, (a, d) => a * d),
                _ => 0,
            };
            nodes.Add(new ProfiledNode(name, e.GetProperty("dur").GetDouble(), flops));
        }
        return nodes;
    }

    private static List<long[]> Shapes(JsonElement args, string property)
    {
        var shapes = new List<long[]>();
        if (args.TryGetProperty(property, out var list))
        {
            foreach (var entry in list.EnumerateArray())
            {
                foreach (var typed in entry.EnumerateObject())
                {
                    shapes.Add(typed.Value.EnumerateArray().Select(d => d.GetInt64()).ToArray());
                }
            }
        }
        return shapes;
    }
}
