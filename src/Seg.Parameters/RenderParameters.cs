using System.Text.Json.Serialization;

namespace Seg.Parameters;

/// <summary>
/// Everything that decides one image, fully resolved: what a task carries to the worker (inside the message
/// <c>Seg.Contracts.Messages.RenderTask</c>), what the pipeline's request is built on, what provenance records and
/// what the <c>images</c> table has a column for. JSON names are the parameters' snake_case names
/// (<see cref="ParameterNames"/>). <see cref="SegBlurSigma"/> is a double with <see cref="double.PositiveInfinity"/>
/// for the infinite blur, written as the string <c>"inf"</c> by its own converter, so it round-trips through any
/// System.Text.Json options. Each property's default, limits, rule and label are its <see cref="ParameterDefinition"/>
/// in <see cref="ParameterDefinitions"/>; <see cref="ParameterDefinitions.Defaults"/> holds every default.
/// </summary>
public sealed record RenderParameters
{
    /// <summary>The model: a folder path or a name the worker resolves.</summary>
    [JsonPropertyName(ParameterNames.Model)]
    public required string Model { get; init; }

    /// <summary>An fp32 VAE folder to decode with, or null for the model's own.</summary>
    [JsonPropertyName(ParameterNames.Vae)]
    public string? Vae { get; init; }

    /// <summary>The prompt (may be empty: unconditional SEG).</summary>
    [JsonPropertyName(ParameterNames.Prompt)]
    public required string Prompt { get; init; }

    /// <summary>The negative prompt (empty: zero embeddings with CFG).</summary>
    [JsonPropertyName(ParameterNames.NegativePrompt)]
    public required string NegativePrompt { get; init; }

    /// <summary>The seed of the initial noise, 0 .. 2^63-1.</summary>
    [JsonPropertyName(ParameterNames.Seed)]
    public required long Seed { get; init; }

    /// <summary>Image width in pixels.</summary>
    [JsonPropertyName(ParameterNames.Width)]
    public required int Width { get; init; }

    /// <summary>Image height in pixels.</summary>
    [JsonPropertyName(ParameterNames.Height)]
    public required int Height { get; init; }

    /// <summary>Denoising steps.</summary>
    [JsonPropertyName(ParameterNames.Steps)]
    public required int Steps { get; init; }

    /// <summary>Scheduler name (<see cref="SchedulerNames"/>).</summary>
    [JsonPropertyName(ParameterNames.Scheduler)]
    public required string Scheduler { get; init; }

    /// <summary>Classifier-free guidance scale; 1 or less turns CFG off.</summary>
    [JsonPropertyName(ParameterNames.GuidanceScale)]
    public required double GuidanceScale { get; init; }

    /// <summary>diffusers' guidance_rescale, 0 .. 1.</summary>
    [JsonPropertyName(ParameterNames.GuidanceRescale)]
    public required double GuidanceRescale { get; init; }

    /// <summary>SEG guidance scale; 0 renders without SEG.</summary>
    [JsonPropertyName(ParameterNames.SegScale)]
    public required double SegScale { get; init; }

    /// <summary>SEG blur sigma; <see cref="double.PositiveInfinity"/> is the infinite blur (JSON <c>"inf"</c>).</summary>
    [JsonPropertyName(ParameterNames.SegBlurSigma), JsonConverter(typeof(SegBlurSigmaJsonConverter))]
    public required double SegBlurSigma { get; init; }

    /// <summary>SEG layers: groups and indices, comma-separated (<c>mid</c>, <c>d0,m0</c>).</summary>
    [JsonPropertyName(ParameterNames.SegLayers)]
    public required string SegLayers { get; init; }

    /// <summary>Fraction of the steps at which SEG starts (inclusive).</summary>
    [JsonPropertyName(ParameterNames.SegWindowStart)]
    public required double SegWindowStart { get; init; }

    /// <summary>Fraction of the steps at which SEG stops (exclusive).</summary>
    [JsonPropertyName(ParameterNames.SegWindowStop)]
    public required double SegWindowStop { get; init; }

    /// <summary>Checks every parameter against its definition's rule, and the SEG window's start against its stop.</summary>
    /// <returns>Every broken rule, in <see cref="ParameterDefinitions.All"/> order; empty when the parameters are valid.</returns>
    public IReadOnlyList<ParameterError> Validate() => ParameterDefinitions.Validate(this);
}
