using System.Text.Json.Serialization;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// One pair of blur-operator inputs of a patched UNet: every patched layer running at <see cref="Factor"/> below
/// the latent multiplies its queries by <see cref="RowsInput"/> (batch, H, H) over the grid rows and by
/// <see cref="ColumnsInput"/> (batch, W, W) over the grid columns, where H and W are
/// <see cref="SegBlurOperator.GridLength"/> of the latent height and width at that factor.
/// </summary>
/// <param name="Factor">Downsampling factor of the grid the pair serves (1, 2, 4, ...).</param>
/// <param name="RowsInput">Graph input name of the row operator B_H.</param>
/// <param name="ColumnsInput">Graph input name of the column operator B_W.</param>
/// <param name="ElementType">Element type of both inputs: <c>float32</c> or <c>float16</c>.</param>
public sealed record SegBlurInputPair(
    [property: JsonPropertyName("factor")] int Factor,
    [property: JsonPropertyName("rows")] string RowsInput,
    [property: JsonPropertyName("cols")] string ColumnsInput,
    [property: JsonPropertyName("element_type")] string ElementType);

/// <summary>
/// What a SEG patch did to a UNet; stored as JSON in the model's metadata under
/// <see cref="UNetSegPatcher.MetadataKey"/> and recorded in provenance.
/// </summary>
/// <param name="PatchVersion">The <see cref="UNetSegPatcher.PatchVersion"/> that wrote the patch.</param>
/// <param name="Layers">The canonical layer selection (<see cref="SegLayerSelection.Canonical"/>).</param>
/// <param name="DownBlockCount">Number of down blocks of the UNet, which fixes the grid factor of every layer.</param>
/// <param name="PatchedNodes">The attn1 to_q MatMul nodes whose output is blurred, in module order.</param>
/// <param name="Inputs">The inserted graph inputs, one pair per distinct grid factor, by factor.</param>
/// <param name="Mode">How the patched UNet is called (<see cref="SegPatchMode"/>); models patched before the mode
/// existed are <see cref="SegPatchMode.Batched"/>.</param>
/// <param name="ForkRowsInput">In <see cref="SegPatchMode.Forked"/>: the int64 input that lists, for each row of
/// the forked batch, the input row it copies; otherwise null.</param>
/// <param name="ForkTensor">In <see cref="SegPatchMode.Forked"/>: the tensor where the batch forks (the first
/// blurred attn1's input); otherwise null.</param>
public sealed record SegPatchInfo(
    [property: JsonPropertyName("patch_version")] int PatchVersion,
    [property: JsonPropertyName("layers")] string Layers,
    [property: JsonPropertyName("down_block_count")] int DownBlockCount,
    [property: JsonPropertyName("patched_nodes")] IReadOnlyList<string> PatchedNodes,
    [property: JsonPropertyName("inputs")] IReadOnlyList<SegBlurInputPair> Inputs,
    [property: JsonPropertyName("mode")] SegPatchMode Mode = SegPatchMode.Batched,
    [property: JsonPropertyName("fork_rows")] string? ForkRowsInput = null,
    [property: JsonPropertyName("fork_tensor")] string? ForkTensor = null);

/// <summary>How a SEG-patched UNet is called.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SegPatchMode>))]
public enum SegPatchMode
{
    /// <summary>
    /// Every item in the batch: uncond, cond and one blurred copy of cond per sigma, each run through the whole
    /// UNet. The reference the forked mode is checked against.
    /// </summary>
    [JsonStringEnumMemberName("batched")]
    Batched,

    /// <summary>
    /// Shared prefix: the UNet is called with uncond and cond only; the graph copies the cond rows for the blurred
    /// items at the first blurred attn1, so the part before it runs once. Same result, fewer FLOPs.
    /// </summary>
    [JsonStringEnumMemberName("forked")]
    Forked,
}
