using System.CommandLine;
using System.Globalization;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Seg.Pipeline.QueryBlur;
using Spectre.Console;

namespace Seg.Cli.Commands;

/// <summary><c>seg render</c>: one prompt to one PNG (or one PNG per SEG sigma) on this machine.</summary>
internal static class RenderCommand
{
    public static Command Create()
    {
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt.", DefaultValueFactory = _ => "" };
        var negative = new Option<string>("--negative-prompt", "-n") { Description = "The negative prompt.", DefaultValueFactory = _ => "" };
        var seed = new Option<ulong>("--seed", "-s") { Description = "Noise seed (torch CPU generator).", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Denoising steps.", DefaultValueFactory = _ => 30 };
        var guidance = new Option<double>("--guidance-scale", "--cfg") { Description = "Classifier-free guidance scale (<= 1: off).", DefaultValueFactory = _ => 5.0 };
        var rescale = new Option<double>("--guidance-rescale") { Description = "diffusers' guidance_rescale, 0..1.", DefaultValueFactory = _ => 0.0 };
        var width = new Option<int?>("--width", "-W") { Description = "Width in pixels (multiple of 8). Default: the model's native size." };
        var height = new Option<int?>("--height", "-H") { Description = "Height in pixels (multiple of 8). Default: the model's native size." };
        var scheduler = new Option<string>("--scheduler") { Description = "euler, euler_a, ddim, dpmpp_2m or dpmpp_2m_karras.", DefaultValueFactory = _ => "euler" };
        var segScale = new Option<double>("--seg-scale") { Description = "SEG guidance scale; 0 turns SEG off.", DefaultValueFactory = _ => 3.0 };
        var segSigma = new Option<string>("--seg-sigma") { Description = "SEG blur sigma: a number > 0 or inf; a comma list renders one image per sigma in shared UNet calls.", DefaultValueFactory = _ => "inf" };
        var segLayers = new Option<string>("--seg-layers") { Description = "Blurred attn1 layers: mid, down, up, or indices such as d0,m0,u3.", DefaultValueFactory = _ => "mid" };
        var segWindow = new Option<string>("--seg-window") { Description = "SEG only between these fractions of the steps: start,stop.", DefaultValueFactory = _ => "0,1" };
        var model = CliOptions.Model();
        var vae = new Option<string?>("--vae") { Description = "A separate (fp32) VAE decoder folder." };
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
            var sigmas = parse.GetValue(segSigma)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(SegBlurOperator.ParseSigma).ToArray();
            var modelFolder = CliOptions.ResolveModel(parse.GetValue(model));
            var options = new PipelineOptions
            {
                ExecutionProvider = CliOptions.ResolveDevice(parse.GetValue(device)!, parse.GetValue(fallback)),
                VaeFolder = parse.GetValue(vae),
                Warning = message => Console.Error.WriteLine($"warning: {message}"),
            };
            using var pipeline = SdxlPipeline.Load(modelFolder, options);
            var nativeSize = pipeline.Model.ReadDefaultImageSize();
            var request = new RenderRequest
            {
                Prompt = parse.GetValue(prompt)!,
                NegativePrompt = parse.GetValue(negative)!,
                Seed = parse.GetValue(seed),
                Steps = parse.GetValue(steps),
                GuidanceScale = parse.GetValue(guidance),
                GuidanceRescale = parse.GetValue(rescale),
                Width = parse.GetValue(width) ?? nativeSize,
                Height = parse.GetValue(height) ?? nativeSize,
                Scheduler = parse.GetValue(scheduler)!,
                SegScale = parse.GetValue(segScale),
                SegBlurSigmas = sigmas,
                SegLayers = parse.GetValue(segLayers)!,
                SegWindowStart = windowStart,
                SegWindowStop = windowStop,
            };

            var images = RenderWithProgress(pipeline, request, cancellationToken);
            var outPath = Path.GetFullPath(parse.GetValue(output)!);
            for (var i = 0; i < images.Count; i++)
            {
                var path = images.Count == 1 ? outPath : SigmaPath(outPath, images[i].Provenance.SegBlurSigma);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, images[i].ToPng());
                Console.Out.WriteLine($"wrote {path} ({request.Width}x{request.Height}, seed {request.Seed}, " +
                                      $"SEG scale {request.SegScale.ToString(CultureInfo.InvariantCulture)}, sigma {images[i].Provenance.SegBlurSigma}, {pipeline.ExecutionProvider})");
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
