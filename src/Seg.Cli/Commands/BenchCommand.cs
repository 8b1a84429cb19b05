using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Seg.Pipeline;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg bench</c>: measurements for docs/performance.md, reported as ratios measured in one run.
/// <c>render</c>: the share of wall time inside ONNX Runtime sessions versus the rest of <c>seg render</c>.
/// <c>guidance</c>: the per-step cost of plain, CFG, SEG and SEG+CFG, and the blur's share of UNet time.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var size = new Option<int>("--size") { Description = "Image width and height.", DefaultValueFactory = _ => 256 };
        var steps = new Option<int>("--steps") { Description = "Steps per render.", DefaultValueFactory = _ => 20 };
        var repeats = new Option<int>("--repeats") { Description = "Renders per configuration (the median is reported).", DefaultValueFactory = _ => 3 };

        var render = new Command("render", "Share of `seg render` wall time inside ONNX Runtime versus tokenizer, scheduler, noise and PNG encoding.")
        {
            model, size, steps, repeats,
        };
        render.SetAction(parse => RunRender(CliOptions.ResolveModel(parse.GetValue(model)), parse.GetValue(size), parse.GetValue(steps), parse.GetValue(repeats)));

        var guidance = new Command("guidance", "Per-step cost of plain, CFG, SEG and SEG+CFG sampling side by side, and the SEG blur's share of UNet time.")
        {
            model, size, steps, repeats,
        };
        guidance.SetAction(parse => RunGuidance(CliOptions.ResolveModel(parse.GetValue(model)), parse.GetValue(size), parse.GetValue(steps), parse.GetValue(repeats)));

        var unetSize = new Option<int>("--size") { Description = "Image width and height.", DefaultValueFactory = _ => 512 };
        var calls = new Option<int>("--calls") { Description = "Timed UNet calls per mode (the median is reported).", DefaultValueFactory = _ => 3 };
        var layers = new Option<string>("--layers") { Description = "SEG layers of the patch.", DefaultValueFactory = _ => "mid" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: its default).", DefaultValueFactory = _ => 0 };
        var unet = new Command("unet", "UNet calls of plain, CFG, SEG and SEG+CFG steps, SEG batched and forked, interleaved, next to the FLOP prediction; the blur's share. For the SDXL-sized model (seg tiny-model --profile sdxl).")
        {
            model, unetSize, calls, layers, threads,
        };
        unet.SetAction(parse => UNetModesBench.Run(CliOptions.ResolveModel(parse.GetValue(model)), parse.GetValue(unetSize), parse.GetValue(calls),
            parse.GetValue(layers)!, parse.GetValue(threads)));

        var farmUrl = new Option<string>("--farm") { Description = "Coordinator URL of a running farm.", Required = true };
        var apiKey = CliOptions.ApiKey();
        var tasks = new Option<int>("--tasks") { Description = "Tasks in the throughput sweep.", DefaultValueFactory = _ => 2000 };
        var acceptTasks = new Option<int>("--accept-tasks") { Description = "Tasks in the sweep whose acceptance is timed (cancelled afterwards).", DefaultValueFactory = _ => 100_000 };
        var warmupTasks = new Option<int>("--warmup-tasks")
        {
            Description = "Tasks of the untimed warm-up sweep (JIT tiering, connection pools and caches settle as in a farm that has been running).",
            DefaultValueFactory = _ => 4000,
        };
        var sweeps = new Option<int>("--sweeps") { Description = "Timed throughput sweeps, one after another (each and the median are reported).", DefaultValueFactory = _ => 3 };
        var farm = new Command("farm", "End-to-end tasks per second of a running farm (use workers in the fake render mode) and the time to accept a large sweep.")
        {
            farmUrl, apiKey, tasks, acceptTasks, warmupTasks, sweeps,
        };
        farm.SetAction((parse, cancellationToken) =>
        {
            var settings = new FarmBenchSettings(parse.GetValue(farmUrl)!, parse.GetValue(apiKey), parse.GetValue(tasks), parse.GetValue(sweeps),
                parse.GetValue(warmupTasks), parse.GetValue(acceptTasks));
            return FarmBench.RunAsync(settings, cancellationToken);
        });

        var hashModel = new Option<string?>("--model") { Description = "A model folder to hash (default: a sparse model-shaped folder of --size-gb)." };
        var sizeGb = new Option<double>("--size-gb") { Description = "Size of the sparse UNet weights file when no --model is given.", DefaultValueFactory = _ => 7 };
        var hashes = new Command("hashes", "A worker's start on a large model: model file hashes computed, then from the cache (path, size, modification time).")
        {
            hashModel, sizeGb,
        };
        hashes.SetAction(parse => ModelHashBench.Run(parse.GetValue(hashModel), parse.GetValue(sizeGb)));

        var webFarm = new Option<string>("--farm") { Description = "Coordinator URL of a running farm.", Required = true };
        var webRepeats = new Option<int>("--repeats") { Description = "Timed requests per page (after 5 untimed).", DefaultValueFactory = _ => 50 };
        var web = new Command("web", "Time of the sweeps list, sweep page and grid page for a 10,000-task sweep (use workers in the fake render mode).")
        {
            webFarm, apiKey, webRepeats,
        };
        web.SetAction((parse, cancellationToken) => WebBench.RunAsync(parse.GetValue(webFarm)!, parse.GetValue(apiKey), parse.GetValue(webRepeats), cancellationToken));
        return new Command("bench", "Benchmarks that report ratios measured in one run.") { render, guidance, unet, farm, hashes, web };
    }

    private static RenderRequest Request(int size, int steps) => new()
    {
        Prompt = "a photo of a cat",
        Seed = 1,
        Steps = steps,
        Width = size,
        Height = size,
    };

    private static int RunRender(string modelFolder, int size, int steps, int repeats)
    {
        using var pipeline = SdxlPipeline.Load(modelFolder);
        var request = Request(size, steps);
        pipeline.Render(request with { Steps = 1 }).ToPng(); // warm-up: session initialisation is not per-render cost

        var rows = new List<(double Wall, double Ort)>();
        for (var i = 0; i < repeats; i++)
        {
            var wall = Stopwatch.StartNew();
            var image = pipeline.Render(request);
            _ = image.ToPng();
            wall.Stop();
            rows.Add((wall.Elapsed.TotalMilliseconds, image.Timings.OnnxRuntimeMs));
        }
        var median = rows.OrderBy(r => r.Wall).ElementAt(rows.Count / 2);
        var rest = median.Wall - median.Ort;
        Console.Out.WriteLine($"seg bench render: {size}x{size}, {steps} steps, SEG+CFG (defaults), median of {repeats}, {pipeline.ExecutionProvider}");
        Console.Out.WriteLine($"| wall ms | inside ONNX Runtime ms | rest ms | rest share |");
        Console.Out.WriteLine($"|---:|---:|---:|---:|");
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {median.Wall:F1} | {median.Ort:F1} | {rest:F1} | {100 * rest / median.Wall:F1}% |"));
        return 0;
    }

    private static int RunGuidance(string modelFolder, int size, int steps, int repeats)
    {
        using var pipeline = SdxlPipeline.Load(modelFolder);
        var request = Request(size, steps);
        var configurations = new (string Name, RenderRequest Request)[]
        {
            ("plain", request with { GuidanceScale = 1, SegScale = 0 }),
            ("CFG", request with { GuidanceScale = 5, SegScale = 0 }),
            ("SEG", request with { GuidanceScale = 1, SegScale = 3 }),
            ("SEG+CFG", request with { GuidanceScale = 5, SegScale = 3 }),
        };
        foreach (var (_, r) in configurations)
        {
            pipeline.Render(r with { Steps = 1 }); // warm-up and patch
        }

        var perStep = configurations.ToDictionary(c => c.Name, _ => new List<double>());
        for (var i = 0; i < repeats; i++)
        {
            // Interleave configurations so drift on a shared machine affects all alike.
            foreach (var (name, r) in configurations)
            {
                perStep[name].Add(pipeline.Render(r).Timings.DenoisingMs / steps);
            }
        }

        var (plainUNetMs, patchedUNetMs) = UNetBlurBench.Measure(modelFolder, size, repeats * steps);
        Console.Out.WriteLine($"seg bench guidance: {size}x{size}, {steps} steps, median of {repeats}, {pipeline.ExecutionProvider}");
        Console.Out.WriteLine("| sampling | UNet batch | ms per step | ratio to plain |");
        Console.Out.WriteLine("|---|---:|---:|---:|");
        var plain = Median(perStep["plain"]);
        foreach (var (name, batch) in new[] { ("plain", 1), ("CFG", 2), ("SEG", 2), ("SEG+CFG", 3) })
        {
            var ms = Median(perStep[name]);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {batch} | {ms:F2} | {ms / plain:F2} |"));
        }
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"UNet call, batch of 3: unpatched {plainUNetMs:F2} ms, SEG-patched (mid) {patchedUNetMs:F2} ms; " +
            $"blur share of UNet time {100 * Math.Max(0, patchedUNetMs - plainUNetMs) / patchedUNetMs:F1}%"));
        return 0;
    }

    /// <summary>The middle value (the upper of the two middle ones for an even count).</summary>
    internal static double Median(IReadOnlyCollection<double> values) => values.Order().ElementAt(values.Count / 2);
}
