using System.Text.Json.Serialization;
using Seg.Contracts.Json;

namespace Seg.Contracts.Messages;

/// <summary>
/// Everything that decides one image, fully resolved: what a task carries to the worker and what provenance
/// records. JSON names are the sweep's snake_case names. <see cref="SegBlurSigma"/> is a double with
/// <see cref="double.PositiveInfinity"/> for the infinite blur, written as the string <c>"inf"</c> by its own
/// converter, so it round-trips through any System.Text.Json options (MassTransit's reject named literals).
/// </summary>
public sealed record RenderParameters
{
    /// <summary>The model: a folder path or a name the worker resolves.</summary>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>An fp32 VAE folder to decode with, or null for the model's own.</summary>
    [JsonPropertyName("vae")]
    public string? Vae { get; init; }

    /// <summary>The prompt (may be empty: unconditional SEG).</summary>
    [JsonPropertyName("prompt")]
    public required string Prompt { get; init; }

    /// <summary>The negative prompt (empty: zero embeddings with CFG).</summary>
    [JsonPropertyName("negative_prompt")]
    public required string NegativePrompt { get; init; }

    /// <summary>The seed of the initial noise, 0 .. 2^63-1.</summary>
    [JsonPropertyName("seed")]
    public required long Seed { get; init; }

    /// <summary>Image width in pixels.</summary>
    [JsonPropertyName("width")]
    public required int Width { get; init; }

    /// <summary>Image height in pixels.</summary>
    [JsonPropertyName("height")]
    public required int Height { get; init; }

    /// <summary>Denoising steps.</summary>
    [JsonPropertyName("steps")]
    public required int Steps { get; init; }

    /// <summary>Scheduler name (<see cref="Sweeps.SchedulerNames"/>).</summary>
    [JsonPropertyName("scheduler")]
    public required string Scheduler { get; init; }

    /// <summary>Classifier-free guidance scale; 1 or less turns CFG off.</summary>
    [JsonPropertyName("guidance_scale")]
    public required double GuidanceScale { get; init; }

    /// <summary>diffusers' guidance_rescale, 0 .. 1.</summary>
    [JsonPropertyName("guidance_rescale")]
    public required double GuidanceRescale { get; init; }

    /// <summary>SEG guidance scale; 0 renders without SEG.</summary>
    [JsonPropertyName("seg_scale")]
    public required double SegScale { get; init; }

    /// <summary>SEG blur sigma; <see cref="double.PositiveInfinity"/> is the infinite blur (JSON <c>"inf"</c>).</summary>
    [JsonPropertyName("seg_blur_sigma"), JsonConverter(typeof(SegBlurSigmaJsonConverter))]
    public required double SegBlurSigma { get; init; }

    /// <summary>SEG layers: groups and indices, comma-separated (<c>mid</c>, <c>d0,m0</c>).</summary>
    [JsonPropertyName("seg_layers")]
    public required string SegLayers { get; init; }

    /// <summary>Fraction of the steps at which SEG starts (inclusive).</summary>
    [JsonPropertyName("seg_window_start")]
    public required double SegWindowStart { get; init; }

    /// <summary>Fraction of the steps at which SEG stops (exclusive).</summary>
    [JsonPropertyName("seg_window_stop")]
    public required double SegWindowStop { get; init; }
}
