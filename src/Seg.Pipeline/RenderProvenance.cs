using System.Text.Json;
using System.Text.Json.Nodes;
using Seg.Parameters;
using Seg.Pipeline.Imaging;

namespace Seg.Pipeline;

/// <summary>
/// How an image was made: every parameter (<see cref="RenderParameters"/>), the model and the software. Written into
/// the PNG as an A1111-style "parameters" text and as JSON (the parameters' snake_case names, then the facts, in one
/// flat object), so that a file alone tells how it was made.
/// </summary>
public sealed record RenderProvenance
{
    private const string SegPatchVersionKey = "seg_patch_version";
    private const string OnnxRuntimeVersionKey = "onnx_runtime_version";
    private const string ExecutionProviderKey = "execution_provider";
    private const string SoftwareVersionKey = "software_version";

    /// <summary>Every parameter of the image; <see cref="RenderParameters.Model"/> is the model folder's name.</summary>
    public required RenderParameters Parameters { get; init; }

    /// <summary>Version of the SEG graph patch of the UNet that ran, or null without SEG.</summary>
    public string? SegPatchVersion { get; init; }

    /// <summary>ONNX Runtime version.</summary>
    public required string OnnxRuntimeVersion { get; init; }

    /// <summary>Execution provider that ran the sessions.</summary>
    public required string ExecutionProvider { get; init; }

    /// <summary>Seg farm version.</summary>
    public required string SoftwareVersion { get; init; }

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
            Parameters = request.ForSigma(segBlurSigma) with { Model = model },
            OnnxRuntimeVersion = onnxRuntimeVersion,
            ExecutionProvider = executionProvider,
            SoftwareVersion = softwareVersion,
        };
    }

    /// <summary>This record as one flat JSON object: the parameters, then the facts (snake_case).</summary>
    public string ToJson()
    {
        var json = JsonSerializer.SerializeToNode(Parameters)!.AsObject();
        if (SegPatchVersion is not null)
        {
            json[SegPatchVersionKey] = SegPatchVersion;
        }
        json[OnnxRuntimeVersionKey] = OnnxRuntimeVersion;
        json[ExecutionProviderKey] = ExecutionProvider;
        json[SoftwareVersionKey] = SoftwareVersion;
        return json.ToJsonString();
    }

    /// <summary>Reads the JSON written by <see cref="ToJson"/> (also that of earlier versions, with the sigma as text).</summary>
    /// <exception cref="JsonException">The JSON is not provenance.</exception>
    public static RenderProvenance FromJson(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("provenance JSON must be an object");
        return new()
        {
            Parameters = node.Deserialize<RenderParameters>() ?? throw new JsonException("empty provenance JSON"),
            SegPatchVersion = node[SegPatchVersionKey]?.GetValue<string>(),
            OnnxRuntimeVersion = node[OnnxRuntimeVersionKey]?.GetValue<string>() ?? "",
            ExecutionProvider = node[ExecutionProviderKey]?.GetValue<string>() ?? "",
            SoftwareVersion = node[SoftwareVersionKey]?.GetValue<string>() ?? "",
        };
    }

    /// <summary>The A1111 "parameters" text: prompt, negative prompt, the parameters' labels, then the software.</summary>
    public string ToParametersText()
    {
        var facts = new List<KeyValuePair<string, string>>();
        if (Parameters.SegScale > 0)
        {
            facts.Add(new("SEG patch", SegPatchVersion ?? "none"));
        }
        facts.Add(new("ONNX Runtime", $"{OnnxRuntimeVersion} {ExecutionProvider}"));
        facts.Add(new("Version", $"seg {SoftwareVersion}"));
        return A1111Text.Write(Parameters, facts);
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
