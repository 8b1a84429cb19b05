using System.CommandLine;
using System.Globalization;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Spectre.Console;

namespace Seg.Cli.Commands;

/// <summary><c>seg render</c>: one prompt to one PNG (or one PNG per SEG sigma) on this machine.</summary>
internal static class RenderCommand
{
    public static Command Create()
    {
        var prompt = FromDefinition(ParameterDefinitions.Prompt, "--prompt", "-p");
        var negative = FromDefinition(ParameterDefinitions.NegativePrompt, "--negative-prompt", "-n");
        var seed = FromDefinition(ParameterDefinitions.Seed, "--seed", "-s");
        var steps = FromDefinition(ParameterDefinitions.Steps, "--steps");
        var guidance = FromDefinition(ParameterDefinitions.GuidanceScale, "--guidance-scale", "--cfg");
        var rescale = FromDefinition(ParameterDefinitions.GuidanceRescale, "--guidance-rescale");
        var width = new Option<int?>("--width", "-W") { Description = $"{ParameterDefinitions.Width.Description} Default: the model's native size." };
        var height = new Option<int?>("--height", "-H") { Description = $"{ParameterDefinitions.Height.Description} Default: the model's native size." };
        var scheduler = FromDefinition(ParameterDefinitions.Scheduler, "--scheduler");
        var segScale = FromDefinition(ParameterDefinitions.SegScale, "--seg-scale");
        var segSigma = new Option<string>("--seg-sigma")
        {
            Description = $"{ParameterDefinitions.SegBlurSigma.Description} A comma list renders one image per sigma in shared UNet calls.",
            DefaultValueFactory = _ => ParameterDefinitions.SegBlurSigma.Format(ParameterDefinitions.SegBlurSigma.Default),
        };
        var segLayers = FromDefinition(ParameterDefinitions.SegLayers, "--seg-layers");
        var segWindow = new Option<string>("--seg-window")
        {
            Description = "SEG only between these fractions of the steps: start,stop.",
            DefaultValueFactory = _ => string.Join(',',
                ParameterDefinitions.SegWindowStart.Format(ParameterDefinitions.SegWindowStart.Default),
                ParameterDefinitions.SegWindowStop.Format(ParameterDefinitions.SegWindowStop.Default)),
        };
        var model = CliOptions.Model();
        var vae = new Option<string?>("--vae") { Description = ParameterDefinitions.Vae.Description };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG path.", DefaultValueFactory = _ => "seg.png" };
        var saveNoise = new Option<string?>("--save-noise") { Description = "Write the initial noise to this .npy file." };
        var saveLatents = new Option<string?>("--save-latents") { Description = "Write the final latents to this .npy file." };
        var device = CliOptions.Device();
        var fallback = CliOptions.AllowCpuFallback();

        var command = new Command("render", "Render one image with SEG (and CFG) on this machine.")
        {
            prompt, negative, seed, steps, guidance, rescale, width, height, scheduler, segScale, segSigma, segLayers,
            segWindow, model, vae, output, saveNoise, saveLatents, device, fallback,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var (windowStart, windowStop) = ParseWindow(parse.GetValue(segWindow)!);
            var request = new RenderRequest
            {
                Prompt = parse.GetValue(prompt)!,
                NegativePrompt = parse.GetValue(negative)!,
                Seed = parse.GetValue(seed),
                Steps = parse.GetValue(steps),
                GuidanceScale = parse.GetValue(guidance),
                GuidanceRescale = parse.GetValue(rescale),
                Width = parse.GetValue(width) ?? ParameterDefinitions.Width.Default,
                Height = parse.GetValue(height) ?? ParameterDefinitions.Height.Default,
                Scheduler = parse.GetValue(scheduler)!,
                SegScale = parse.GetValue(segScale),
                SegBlurSigmas = ParseSigmas(parse.GetValue(segSigma)!),
                SegLayers = parse.GetValue(segLayers)!,
                SegWindowStart = windowStart,
                SegWindowStop = windowStop,
            };
            // Checked before the model loads, so that bad input costs nothing and writes nothing.
            request.Validate();

            var modelFolder = CliOptions.ResolveModel(parse.GetValue(model));
            var options = new PipelineOptions
            {
                ExecutionProvider = CliOptions.ResolveDevice(parse.GetValue(device)!, parse.GetValue(fallback)),
                VaeFolder = parse.GetValue(vae),
                Warning = message => Console.Error.WriteLine($"warning: {message}"),
            };
            using var pipeline = SdxlPipeline.Load(modelFolder, options);
            var nativeSize = pipeline.Model.ReadDefaultImageSize();
            request = request with { Width = parse.GetValue(width) ?? nativeSize, Height = parse.GetValue(height) ?? nativeSize };

            var images = RenderWithProgress(pipeline, request, cancellationToken);
            var outPath = Path.GetFullPath(parse.GetValue(output)!);
            for (var i = 0; i < images.Count; i++)
            {
                var sigma = ParameterDefinitions.SegBlurSigma.Format(images[i].Provenance.Parameters.SegBlurSigma);
                var path = images.Count == 1 ? outPath : SigmaPath(outPath, sigma);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, images[i].ToPng());
                Console.Out.WriteLine($"wrote {path} ({request.Width}x{request.Height}, seed {request.Seed}, " +
                                      $"SEG scale {request.SegScale.ToString(CultureInfo.InvariantCulture)}, sigma {sigma}, {pipeline.ExecutionProvider})");
            }
            if (parse.GetValue(saveNoise) is { } noisePath)
            {
                NpyWriter.Write(noisePath, images[0].InitialNoise, images[0].LatentShape);
            }
            if (parse.GetValue(saveLatents) is { } latentsPath)
            {
                NpyWriter.Write(latentsPath, images[0].FinalLatents, images[0].LatentShape);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static IReadOnlyList<RenderedImage> RenderWithProgress(SdxlPipeline pipeline, RenderRequest request, CancellationToken cancellationToken)
    {
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            return pipeline.RenderAll(request, null, cancellationToken);
        }
        IReadOnlyList<RenderedImage> images = [];
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().Start(context =>
        {
            var task = context.AddTask("denoising", maxValue: request.Steps);
            images = pipeline.RenderAll(request, new SynchronousProgress<RenderProgress>(p => task.Value = p.Step), cancellationToken);
        });
        return images;
    }

    private static string SigmaPath(string path, string sigma) =>
        Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}-sigma{sigma}{Path.GetExtension(path)}");

    /// <summary>An option whose name, help text and default are the render parameter's.</summary>
    private static Option<T> FromDefinition<T>(ParameterDefinition<T> parameter, string name, params string[] aliases) => new(name, aliases)
    {
        Description = parameter.Description,
        DefaultValueFactory = _ => parameter.Default,
    };

    /// <summary>Sigmas as people write them, comma-separated; the rule (&gt; 0) is the request's to check.</summary>
    private static double[] ParseSigmas(string text) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(item =>
            ParameterDefinitions.SegBlurSigma.TryParse(item, out var sigma, out var error)
                ? sigma
                : throw new RenderRequestException(ParameterNames.SegBlurSigma, error))];

    internal static (double Start, double Stop) ParseWindow(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var start)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var stop))
        {
            return (start, stop);
        }
        throw new RenderRequestException("seg_window", $"must be two fractions 'start,stop' such as 0,1 (got '{text}')");
    }
}

/// <summary>Reports progress on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
