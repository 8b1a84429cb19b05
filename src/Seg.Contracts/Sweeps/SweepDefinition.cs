using System.Collections.ObjectModel;
using System.Text.Json.Serialization;
using Seg.Contracts.Json;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// A sweep as its author writes it, in YAML or JSON with the same snake_case names: one model, prompts, seeds and a
/// list for each swept value. It expands (<see cref="SweepExpander"/>) to the full product, one task per image.
/// Wherever a list is expected a single value is accepted (<c>steps: 20</c> is <c>steps: [20]</c>).
/// Read it with <see cref="SweepParser"/> and check it with <see cref="SweepValidator"/>; the property attributes
/// carry the whole format, so any System.Text.Json options read and write it the same way.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SweepDefinition
{
    /// <summary>A name for people and dashboards; optional.</summary>
    [JsonPropertyName("name"), JsonConverter(typeof(TextJsonConverter))]
    public string Name { get; init; } = "";

    /// <summary>Free-form labels (<c>project: cats</c>) kept with the sweep and its images.</summary>
    [JsonPropertyName("tags"), JsonConverter(typeof(TextMapJsonConverter))]
    public IReadOnlyDictionary<string, string> Tags { get; init; } = ReadOnlyDictionary<string, string>.Empty;

    /// <summary>The model: a folder path, or a model name that the worker resolves. Required.</summary>
    [JsonPropertyName("model"), JsonConverter(typeof(TextJsonConverter))]
    public string Model { get; init; } = "";

    /// <summary>An fp32 VAE folder to decode with instead of the model's own (fp16 SDXL VAEs overflow); optional.</summary>
    [JsonPropertyName("vae"), JsonConverter(typeof(OptionalTextJsonConverter))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Vae { get; init; }

    /// <summary>The prompts; at least one. An empty prompt is allowed (unconditional SEG).</summary>
    [JsonPropertyName("prompts"), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Prompts { get; init; } = [];

    /// <summary>The negative prompt of every image; empty by default.</summary>
    [JsonPropertyName("negative_prompt"), JsonConverter(typeof(TextJsonConverter))]
    public string NegativePrompt { get; init; } = "";

    /// <summary>The seeds: a list or a range. Required.</summary>
    [JsonPropertyName("seeds")]
    public SeedSet Seeds { get; init; } = SeedSet.None;

    /// <summary>SEG guidance scales; 0 renders without SEG. Default [3.0].</summary>
    [JsonPropertyName("seg_scale"), JsonConverter(typeof(OneOrManyNumberJsonConverter))]
    public IReadOnlyList<double> SegScale { get; init; } = [3.0];

    /// <summary>
    /// SEG blur sigmas; <see cref="double.PositiveInfinity"/> (written <c>inf</c>) is the infinite blur, the mean
    /// query. Default [inf].
    /// </summary>
    [JsonPropertyName("seg_blur_sigma"), JsonConverter(typeof(OneOrManySigmaJsonConverter))]
    public IReadOnlyList<double> SegBlurSigma { get; init; } = [double.PositiveInfinity];

    /// <summary>
    /// SEG layer selections, each a comma-separated set of groups (<c>down</c>, <c>mid</c>, <c>up</c>) or attn1
    /// indices (<c>d4</c>, <c>m0</c>, <c>u12</c>), e.g. <c>["mid", "d0,m0"]</c>. Default ["mid"].
    /// </summary>
    [JsonPropertyName("seg_layers"), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> SegLayers { get; init; } = ["mid"];

    /// <summary>The fractions of the steps with SEG, [start, stop]. Default [0, 1]: every step.</summary>
    [JsonPropertyName("seg_window")]
    public SegWindow SegWindow { get; init; } = SegWindow.Full;

    /// <summary>Classifier-free guidance scales; 1 or less turns CFG off. Default [5.0].</summary>
    [JsonPropertyName("guidance_scale"), JsonConverter(typeof(OneOrManyNumberJsonConverter))]
    public IReadOnlyList<double> GuidanceScale { get; init; } = [5.0];

    /// <summary>diffusers' guidance_rescale, 0 .. 1, for every image. Default 0 (off).</summary>
    [JsonPropertyName("guidance_rescale"), JsonConverter(typeof(NumberJsonConverter))]
    public double GuidanceRescale { get; init; }

    /// <summary>Denoising step counts. Default [30].</summary>
    [JsonPropertyName("steps"), JsonConverter(typeof(OneOrManyIntegerJsonConverter))]
    public IReadOnlyList<int> Steps { get; init; } = [30];

    /// <summary>Image sizes as <c>WIDTHxHEIGHT</c>, e.g. <c>1024x1024</c>. Default ["1024x1024"].</summary>
    [JsonPropertyName("size"), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Size { get; init; } = ["1024x1024"];

    /// <summary>Scheduler names (<see cref="SchedulerNames.All"/>). Default ["euler"].</summary>
    [JsonPropertyName("scheduler"), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Scheduler { get; init; } = [SchedulerNames.Euler];

    /// <summary>Dispatch priority: higher first, ties first-in first-out. Default 0.</summary>
    [JsonPropertyName("priority"), JsonConverter(typeof(IntegerJsonConverter))]
    public int Priority { get; init; }
}
