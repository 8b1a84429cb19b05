using System.Collections.ObjectModel;
using System.Text.Json.Serialization;
using Seg.Contracts.Json;
using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// A sweep as its author writes it, in YAML or JSON with the same snake_case names: one model, prompts, seeds and a
/// list for each swept value. It expands (<see cref="SweepExpander"/>) to the full product, one task per image.
/// Wherever a list is expected a single value is accepted (<c>steps: 20</c> is <c>steps: [20]</c>).
/// Read it with <see cref="SweepParser"/> and check it with <see cref="SweepValidator"/>; the property attributes
/// carry the whole format, so any System.Text.Json options read and write it the same way. Field names and defaults
/// are those of the render parameters (<see cref="ParameterDefinitions"/>); <see cref="SweepAxes"/> lists the swept
/// fields in expansion order.
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
    [JsonPropertyName(ParameterNames.Model), JsonConverter(typeof(TextJsonConverter))]
    public string Model { get; init; } = ParameterDefinitions.Model.Default;

    /// <summary>An fp32 VAE folder to decode with instead of the model's own (fp16 SDXL VAEs overflow); optional.</summary>
    [JsonPropertyName(ParameterNames.Vae), JsonConverter(typeof(OptionalTextJsonConverter))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Vae { get; init; } = ParameterDefinitions.Vae.Default;

    /// <summary>The prompts; at least one. An empty prompt is allowed (unconditional SEG).</summary>
    [JsonPropertyName(ParameterNames.Prompts), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Prompts { get; init; } = [];

    /// <summary>The negative prompt of every image; empty by default.</summary>
    [JsonPropertyName(ParameterNames.NegativePrompt), JsonConverter(typeof(TextJsonConverter))]
    public string NegativePrompt { get; init; } = ParameterDefinitions.NegativePrompt.Default;

    /// <summary>The seeds: a list or a range. Required.</summary>
    [JsonPropertyName(ParameterNames.Seeds)]
    public SeedSet Seeds { get; init; } = SeedSet.None;

    /// <summary>SEG guidance scales; 0 renders without SEG. Default: <see cref="ParameterDefinitions.SegScale"/>'s.</summary>
    [JsonPropertyName(ParameterNames.SegScale), JsonConverter(typeof(OneOrManyNumberJsonConverter))]
    public IReadOnlyList<double> SegScale { get; init; } = [ParameterDefinitions.SegScale.Default];

    /// <summary>
    /// SEG blur sigmas; <see cref="double.PositiveInfinity"/> (written <c>inf</c>) is the infinite blur, the mean
    /// query. Default: <see cref="ParameterDefinitions.SegBlurSigma"/>'s.
    /// </summary>
    [JsonPropertyName(ParameterNames.SegBlurSigma), JsonConverter(typeof(OneOrManySigmaJsonConverter))]
    public IReadOnlyList<double> SegBlurSigma { get; init; } = [ParameterDefinitions.SegBlurSigma.Default];

    /// <summary>
    /// SEG layer selections, each a comma-separated set of groups (<c>down</c>, <c>mid</c>, <c>up</c>) or attn1
    /// indices (<c>d4</c>, <c>m0</c>, <c>u12</c>), e.g. <c>["mid", "d0,m0"]</c>. Default: <see cref="ParameterDefinitions.SegLayers"/>'s.
    /// </summary>
    [JsonPropertyName(ParameterNames.SegLayers), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> SegLayers { get; init; } = [ParameterDefinitions.SegLayers.Default];

    /// <summary>The fractions of the steps with SEG, [start, stop]. Default <see cref="SegWindow.Full"/>: every step.</summary>
    [JsonPropertyName(ParameterNames.SegWindow)]
    public SegWindow SegWindow { get; init; } = SegWindow.Full;

    /// <summary>Classifier-free guidance scales; 1 or less turns CFG off. Default: <see cref="ParameterDefinitions.GuidanceScale"/>'s.</summary>
    [JsonPropertyName(ParameterNames.GuidanceScale), JsonConverter(typeof(OneOrManyNumberJsonConverter))]
    public IReadOnlyList<double> GuidanceScale { get; init; } = [ParameterDefinitions.GuidanceScale.Default];

    /// <summary>diffusers' guidance_rescale, 0 .. 1, for every image. Default: off.</summary>
    [JsonPropertyName(ParameterNames.GuidanceRescale), JsonConverter(typeof(NumberJsonConverter))]
    public double GuidanceRescale { get; init; } = ParameterDefinitions.GuidanceRescale.Default;

    /// <summary>Denoising step counts. Default: <see cref="ParameterDefinitions.Steps"/>'.</summary>
    [JsonPropertyName(ParameterNames.Steps), JsonConverter(typeof(OneOrManyIntegerJsonConverter))]
    public IReadOnlyList<int> Steps { get; init; } = [ParameterDefinitions.Steps.Default];

    /// <summary>Image sizes as <c>WIDTHxHEIGHT</c>, e.g. <c>1024x1024</c>. Default: the default width and height.</summary>
    [JsonPropertyName(ParameterNames.Size), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Size { get; init; } = [ImageSize.Of(ParameterDefinitions.Defaults).ToString()];

    /// <summary>Scheduler names (<see cref="SchedulerNames.All"/>). Default: <see cref="ParameterDefinitions.Scheduler"/>'s.</summary>
    [JsonPropertyName(ParameterNames.Scheduler), JsonConverter(typeof(OneOrManyTextJsonConverter))]
    public IReadOnlyList<string> Scheduler { get; init; } = [ParameterDefinitions.Scheduler.Default];

    /// <summary>Dispatch priority: higher first, ties first-in first-out. Default 0.</summary>
    [JsonPropertyName("priority"), JsonConverter(typeof(IntegerJsonConverter))]
    public int Priority { get; init; }
}
