using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Pipeline.Imaging;

namespace Seg.Pipeline;

/// <summary>Wall time per stage of one render, in milliseconds.</summary>
/// <param name="TextEncodingMs">Tokenizing and both text encoders.</param>
/// <param name="DenoisingMs">The whole sampling loop.</param>
/// <param name="UNetMs">Time inside UNet session runs (part of <paramref name="DenoisingMs"/>).</param>
/// <param name="VaeMs">The decode stage, VAE session and pixel conversion.</param>
/// <param name="TotalMs">The whole render, from request to pixels.</param>
/// <param name="OnnxRuntimeMs">Time inside ONNX Runtime session runs (text encoders, UNet, VAE), excluding our tensor conversion.</param>
public sealed record StageTimings(
    double TextEncodingMs,
    double DenoisingMs,
    double UNetMs,
    double VaeMs,
    double TotalMs,
    double OnnxRuntimeMs);

/// <summary>
/// How an image was made: every parameter, the model and the software. Written into the PNG as an
/// A1111-style "parameters" text and as JSON, so that a file alone tells how it was made.
/// </summary>
public sealed record RenderProvenance
{
    /// <summary>The prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>The negative prompt.</summary>
    public required string NegativePrompt { get; init; }

    /// <summary>The noise seed.</summary>
    public required ulong Seed { get; init; }

    /// <summary>Sampling steps.</summary>
    public required int Steps { get; init; }

    /// <summary>Scheduler name.</summary>
    public required string Scheduler { get; init; }

    /// <summary>CFG scale.</summary>
    public required double GuidanceScale { get; init; }

    /// <summary>guidance_rescale.</summary>
    public required double GuidanceRescale { get; init; }

    /// <summary>Image width.</summary>
    public required int Width { get; init; }

    /// <summary>Image height.</summary>
    public required int Height { get; init; }

    /// <summary>SEG scale (0 = no SEG).</summary>
    public required double SegScale { get; init; }

    /// <summary>SEG blur sigma as text: a number or <c>inf</c>.</summary>
    public required string SegBlurSigma { get; init; }

    /// <summary>SEG layer selection, canonical form.</summary>
    public required string SegLayers { get; init; }

    /// <summary>SEG window start fraction.</summary>
    public required double SegWindowStart { get; init; }

    /// <summary>SEG window stop fraction.</summary>
    public required double SegWindowStop { get; init; }

    /// <summary>Version of the SEG graph patch of the UNet that ran, or null without SEG.</summary>
    public string? SegPatchVersion { get; init; }

    /// <summary>Model folder name.</summary>
    public required string Model { get; init; }

    /// <summary>ONNX Runtime version.</summary>
    public required string OnnxRuntimeVersion { get; init; }

    /// <summary>Execution provider that ran the sessions.</summary>
    public required string ExecutionProvider { get; init; }

    /// <summary>Seg farm version.</summary>
    public required string SoftwareVersion { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>
    /// Provenance of a render of <paramref name="request"/> at one SEG sigma: the request's parameters with the
    /// model and runtime facts; no SEG patch version (set it with <c>with</c> when the UNet was patched).
    /// </summary>
    /// <param name="request">The render request.</param>
    /// <param name="segBlurSigma">The sigma of this image (a request may carry several).</param>
    /// <param name="model">Model name.</param>
    /// <param name="onnxRuntimeVersion">ONNX Runtime version.</param>
    /// <param name="executionProvider">Execution provider.</param>
    /// <param name="softwareVersion">Software version.</param>
    /// <returns>The provenance.</returns>
    public static RenderProvenance ForRequest(
        RenderRequest request, double segBlurSigma, string model, string onnxRuntimeVersion, string executionProvider, string softwareVersion)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new()
        {
            Prompt = request.Prompt,
            NegativePrompt = request.NegativePrompt,
            Seed = request.Seed,
            Steps = request.Steps,
            Scheduler = request.Scheduler,
            GuidanceScale = request.GuidanceScale,
            GuidanceRescale = request.GuidanceRescale,
            Width = request.Width,
            Height = request.Height,
            SegScale = request.SegScale,
            SegBlurSigma = RenderRequest.FormatSigma(segBlurSigma),
            SegLayers = request.SegLayers,
            SegWindowStart = request.SegWindowStart,
            SegWindowStop = request.SegWindowStop,
            Model = model,
            OnnxRuntimeVersion = onnxRuntimeVersion,
            ExecutionProvider = executionProvider,
            SoftwareVersion = softwareVersion,
        };
    }

    /// <summary>This record as JSON (snake_case).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads the JSON written by <see cref="ToJson"/>.</summary>
    public static RenderProvenance FromJson(string json) =>
        JsonSerializer.Deserialize<RenderProvenance>(json, JsonOptions) ?? throw new JsonException("empty provenance JSON");

    /// <summary>The A1111 "parameters" text: prompt, negative prompt, then key: value pairs.</summary>
    public string ToParametersText()
    {
        static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var lines = new List<string> { Prompt };
        if (NegativePrompt.Length > 0)
        {
            lines.Add($"Negative prompt: {NegativePrompt}");
        }
        var pairs = new List<string>
        {
            $"Steps: {Steps}", $"Sampler: {Scheduler}", $"CFG scale: {F(GuidanceScale)}", $"Seed: {Seed}",
            $"Size: {Width}x{Height}", $"Model: {Model}",
        };
        if (GuidanceRescale > 0)
        {
            pairs.Add($"Guidance rescale: {F(GuidanceRescale)}");
        }
        pairs.Add($"SEG scale: {F(SegScale)}");
        if (SegScale > 0)
        {
            pairs.Add($"SEG blur sigma: {SegBlurSigma}");
            pairs.Add($"SEG layers: \"{SegLayers}\"");
            pairs.Add($"SEG window: {F(SegWindowStart)}-{F(SegWindowStop)}");
            pairs.Add($"SEG patch: {SegPatchVersion}");
        }
        pairs.Add($"ONNX Runtime: {OnnxRuntimeVersion} {ExecutionProvider}");
        pairs.Add($"Version: seg {SoftwareVersion}");
        lines.Add(string.Join(", ", pairs));
        return string.Join("\n", lines);
    }

    /// <summary>The PNG text entries: <c>parameters</c> (A1111) and <c>seg</c> (this record as JSON).</summary>
    public IEnumerable<KeyValuePair<string, string>> ToPngText() =>
    [
        new("parameters", ToParametersText()),
        new("seg", ToJson()),
    ];

    /// <summary>Reads the provenance JSON back from a PNG written by the pipeline, or null if absent.</summary>
    public static RenderProvenance? FromPng(byte[] png)
    {
        var entry = PngTextChunks.Read(png).FirstOrDefault(e => e.Key == "seg");
        return entry.Value is null ? null : FromJson(entry.Value);
    }
}

/// <summary>One rendered image with the data needed to reproduce and inspect it.</summary>
/// <param name="Rgb">Interleaved 8-bit RGB pixels, row-major.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="InitialNoise">The initial noise (before init_noise_sigma), 1 x 4 x h/8 x w/8.</param>
/// <param name="FinalLatents">The latents after the last step, before VAE scaling, 1 x 4 x h/8 x w/8.</param>
/// <param name="Provenance">Every parameter and the software that made it.</param>
/// <param name="Timings">Stage timings of the call that produced it (shared by images of one call).</param>
/// <param name="Warnings">Warnings for the user (truncation, fallback).</param>
public sealed record RenderedImage(
    byte[] Rgb,
    int Width,
    int Height,
    float[] InitialNoise,
    float[] FinalLatents,
    RenderProvenance Provenance,
    StageTimings Timings,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The latent shape, [1, 4, h/8, w/8].</summary>
    public long[] LatentShape => [1, 4, Height / 8, Width / 8];

    /// <summary>Encodes the image as PNG with its provenance in text chunks.</summary>
    public byte[] ToPng() => PngImageEncoder.Encode(Rgb, Width, Height, Provenance.ToPngText());
}

/// <summary>Progress of a render: called after each denoising step.</summary>
/// <param name="Step">Steps done (1-based).</param>
/// <param name="TotalSteps">Steps in all.</param>
/// <param name="Timestep">The timestep just run.</param>
public sealed record RenderProgress(int Step, int TotalSteps, double Timestep);
