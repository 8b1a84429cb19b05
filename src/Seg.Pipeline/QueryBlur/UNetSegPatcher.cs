using System.Globalization;
using System.Text.Json;
using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// Inserts the SEG query blur into an exported SDXL UNet graph. After each selected attn1 <c>to_q</c> MatMul the
/// query q (B, N, C), N = H*W, becomes <c>B_H · q · B_W^T</c> per channel over the H x W grid:
/// reshape to (B, H, W*C), MatMul with the rows input (batch, H, H), reshape to (B, H, W, C), MatMul with the
/// columns input unsqueezed to (batch, 1, W, W), reshape back to (B, N, C). H and W are read at run time from the
/// operator inputs' shapes, so one patched model serves every latent size. Batch items that are not the
/// perturbed branch get identity operators.
/// </summary>
public static class UNetSegPatcher
{
    /// <summary>Version of the patch layout; part of cache keys and provenance. Bump on any change to the graph edit.</summary>
    public const int PatchVersion = 1;

    /// <summary>Key of the model metadata entry holding the <see cref="SegPatchInfo"/> JSON.</summary>
    public const string MetadataKey = "seg.patch";

    /// <summary>Prefix of every inserted graph input.</summary>
    public const string InputPrefix = "seg_blur_";

    /// <summary>The int64 input of a <see cref="SegPatchMode.Forked"/> patch: the input row each forked row copies.</summary>
    public const string ForkRowsInputName = "seg_fork_rows";

    private const string Float32Name = "float32";
    private const string Float16Name = "float16";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false };

    /// <summary>Name of the rows operator input serving grid factor <paramref name="factor"/>.</summary>
    /// <param name="factor">Grid factor.</param>
    /// <returns>e.g. <c>seg_blur_rows_f4</c>.</returns>
    public static string RowsInputName(int factor) => $"{InputPrefix}rows_f{factor.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Name of the columns operator input serving grid factor <paramref name="factor"/>.</summary>
    /// <param name="factor">Grid factor.</param>
    /// <returns>e.g. <c>seg_blur_cols_f4</c>.</returns>
    public static string ColumnsInputName(int factor) => $"{InputPrefix}cols_f{factor.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Patches <paramref name="model"/> in place and records the patch in its metadata.
    /// </summary>
    /// <param name="model">An exported (not transformer-optimised) SDXL-style UNet.</param>
    /// <param name="layers">The attn1 layers to blur.</param>
    /// <param name="mode">Whether the caller passes every item (batched) or uncond and cond only (forked).</param>
    /// <returns>What was patched.</returns>
    /// <exception cref="InvalidOperationException">The model is already patched, its attention is fused, it has no
    /// attn1 to_q MatMul, or the query element type cannot be told.</exception>
    /// <exception cref="ArgumentException">The selection does not fit this UNet.</exception>
    public static SegPatchInfo Patch(ModelProto model, SegLayerSelection layers, SegPatchMode mode = SegPatchMode.Batched)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        var graph = model.Graph ?? throw new ArgumentException("the model has no graph", nameof(model));

        if (ReadPatchInfo(model) is { } existing)
        {
            throw new InvalidOperationException(
                $"The UNet is already SEG-patched (patch version {existing.PatchVersion}, layers '{existing.Layers}'); patch the original export instead.");
        }
        if (graph.Input.FirstOrDefault(i => i.Name.StartsWith(InputPrefix, StringComparison.Ordinal) || i.Name == ForkRowsInputName) is { } seg)
        {
            throw new InvalidOperationException($"The UNet is already SEG-patched (it has the input '{seg.Name}'); patch the original export instead.");
        }

        var toQNodes = UNetGraphAnalysis.FindToQMatMuls(graph);
        var selected = layers.Resolve(toQNodes.Keys.ToList());
        var downBlockCount = UNetGraphAnalysis.CountDownBlocks(graph);
        var types = new TensorTypeIndex(graph);

        var plans = selected
            .Select(layer =>
            {
                var node = toQNodes[layer.ToQNodeName];
                return new QueryBlurLayerPlan(layer, node, UNetGraphAnalysis.GridFactor(layer, downBlockCount), UNetGraphAnalysis.QueryElementType(node, types));
            })
            .ToList();

        var pairs = new List<SegBlurInputPair>();
        foreach (var byFactor in plans.GroupBy(p => p.Factor).OrderBy(g => g.Key))
        {
            var elementTypes = byFactor.Select(p => p.ElementType).Distinct().ToList();
            if (elementTypes.Count > 1)
            {
                throw new InvalidOperationException(
                    $"The patched layers at grid factor {byFactor.Key} mix query element types ({string.Join(", ", elementTypes.Select(ElementTypeName))}); one blur input cannot serve them.");
            }
            pairs.Add(new SegBlurInputPair(byFactor.Key, RowsInputName(byFactor.Key), ColumnsInputName(byFactor.Key), ElementTypeName(elementTypes[0])));
        }

        // Node order is topological, so the earliest selected to_q in it comes before every other one.
        var firstBlurred = graph.Node.First(n => plans.Any(p => ReferenceEquals(p.Node, n)));
        new QueryBlurGraphEdit(graph, UNetGraphAnalysis.DefaultOpsetVersion(model)).Apply(plans);
        var forkTensor = mode == SegPatchMode.Forked
            ? new BatchForkGraphEdit(graph).Apply(firstBlurred, ForkRowsInputName,
                pairs.SelectMany(p => new[] { p.RowsInput, p.ColumnsInput }).ToHashSet(StringComparer.Ordinal))
            : null;

        var info = new SegPatchInfo(
            PatchVersion,
            layers.Canonical,
            downBlockCount,
            plans.Select(p => p.Node.Name).ToList(),
            pairs,
            mode,
            mode == SegPatchMode.Forked ? ForkRowsInputName : null,
            forkTensor);
        model.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = JsonSerializer.Serialize(info, s_json) });
        return info;
    }

    /// <summary>
    /// Patches the UNet file <paramref name="unetModelPath"/> and writes the result to
    /// <paramref name="outputModelPath"/>, never touching the original. External weight files stay as they are:
    /// the patched graph keeps the initializers' external_data entries, and each data file is hard-linked
    /// next to the output (ONNX Runtime 1.31 rejects external data reached through a symlink that leaves the
    /// model folder, and weights are never copied), so the output folder must be on the same file system.
    /// </summary>
    /// <param name="unetModelPath">The exported UNet <c>model.onnx</c>.</param>
    /// <param name="outputModelPath">Where to write the patched model; must differ from the input.</param>
    /// <param name="layers">The attn1 layers to blur.</param>
    /// <param name="mode">Whether the caller passes every item (batched) or uncond and cond only (forked).</param>
    /// <returns>What was patched.</returns>
    public static SegPatchInfo PatchFile(string unetModelPath, string outputModelPath, SegLayerSelection layers, SegPatchMode mode = SegPatchMode.Batched)
    {
        var source = Path.GetFullPath(unetModelPath);
        return PatchLoaded(OnnxModelFile.Load(source), source, outputModelPath, layers, mode);
    }

    /// <summary>The patch recorded in <paramref name="model"/>'s metadata, or null when it is not patched.</summary>
    /// <param name="model">A model.</param>
    /// <returns>The recorded patch, or null.</returns>
    /// <exception cref="InvalidDataException">The metadata entry exists but is not a valid patch record.</exception>
    public static SegPatchInfo? ReadPatchInfo(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == MetadataKey);
        if (entry is null)
        {
            return null;
        }
        try
        {
            var info = JsonSerializer.Deserialize<SegPatchInfo>(entry.Value, s_json);
            if (info is null || info.Layers is null || info.PatchedNodes is null || info.Inputs is null)
            {
                throw new InvalidDataException($"The model metadata '{MetadataKey}' is incomplete: {entry.Value}");
            }
            return info;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model metadata '{MetadataKey}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Patches an already loaded <paramref name="model"/> read from <paramref name="sourceModelPath"/> and writes it.</summary>
    internal static SegPatchInfo PatchLoaded(ModelProto model, string sourceModelPath, string outputModelPath, SegLayerSelection layers,
        SegPatchMode mode, bool linkExternalData = true)
    {
        var source = Path.GetFullPath(sourceModelPath);
        var output = Path.GetFullPath(outputModelPath);
        if (string.Equals(source, output, StringComparison.Ordinal))
        {
            throw new ArgumentException($"outputModelPath must differ from the UNet model path (the original is never rewritten; got '{output}')", nameof(outputModelPath));
        }

        var info = Patch(model, layers, mode);
        var outputDirectory = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(outputDirectory);
        if (linkExternalData)
        {
            ExternalDataLinks.Link(OnnxModelFile.ExternalDataLocations(model), Path.GetDirectoryName(source)!, outputDirectory);
        }
        OnnxModelFile.WriteAtomically(model, output);
        return info;
    }

    private static string ElementTypeName(int elementType) =>
        elementType == (int)TensorProto.Types.DataType.Float16 ? Float16Name : Float32Name;
}
