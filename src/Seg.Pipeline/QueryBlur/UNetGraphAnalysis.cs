using System.Globalization;
using System.Text.RegularExpressions;
using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// Reads what the SEG patch needs from an exported UNet graph without changing it: the attn1 <c>to_q</c> MatMuls by
/// their exporter names, the number of down blocks (which fixes each layer's grid factor), the query element type,
/// and the default opset. Explains plainly when the graph cannot be patched (fused attention, no such nodes).
/// </summary>
internal static partial class UNetGraphAnalysis
{
    private const string ToQSuffix = "/to_q/MatMul";

    // ORT contrib and ONNX ops that replace the separate q/k/v projections once attention is fused.
    private static readonly HashSet<string> s_fusedAttentionOps = new(StringComparer.Ordinal)
    {
        "Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention", "GroupQueryAttention",
    };

    /// <summary>The node-name suffix of a to_q projection, which the blur nodes' names replace.</summary>
    public static string ToQNameSuffix => ToQSuffix;

    public static Dictionary<string, NodeProto> FindToQMatMuls(GraphProto graph)
    {
        var found = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType == "MatMul" && (node.Domain is "" or "ai.onnx") && SegLayerSelection.IsAttn1ToQName(node.Name))
            {
                if (!found.TryAdd(node.Name, node))
                {
                    throw new InvalidOperationException($"The UNet graph has two nodes named '{node.Name}'; node names must be unique to patch it.");
                }
            }
        }
        if (found.Count > 0)
        {
            return found;
        }

        var fused = graph.Node.Where(n => s_fusedAttentionOps.Contains(n.OpType)).ToList();
        var packed = graph.Node.Where(n => n.Name.Contains("/to_qkv", StringComparison.Ordinal)).ToList();
        if (fused.Count > 0 || packed.Count > 0)
        {
            var example = fused.Count > 0 ? fused[0] : packed[0];
            var what = fused.Count > 0
                ? $"{fused.Count} fused attention nodes ({string.Join(", ", fused.Select(n => n.OpType).Distinct())})"
                : $"{packed.Count} packed QKV projection nodes";
            throw new InvalidOperationException(
                $"The UNet graph was optimised: it has {what}, e.g. '{example.Name}', and no separate attn1 to_q MatMul " +
                "to blur. Patch the exported model before ONNX Runtime transformer optimisation (and without fused QKV projections).");
        }

        var nonMatMul = graph.Node.FirstOrDefault(n => n.Name.EndsWith(ToQSuffix, StringComparison.Ordinal) && n.Name.Contains("/attn1/", StringComparison.Ordinal));
        var hint = nonMatMul is null ? "" : $" (the node '{nonMatMul.Name}' has op type {nonMatMul.OpType}, not MatMul)";
        throw new InvalidOperationException(
            "No attn1 to_q MatMul was found in the UNet graph" + hint + ": SEG needs nodes named " +
            "/<down_blocks.i|mid_block|up_blocks.j>/attentions.<a>/transformer_blocks.<t>/attn1/to_q/MatMul, " +
            "as the torch.onnx export of a diffusers UNet names them.");
    }

    public static int CountDownBlocks(GraphProto graph)
    {
        int Count(Regex pattern) => graph.Node
            .Select(n => pattern.Match(n.Name))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1)
            .DefaultIfEmpty(0)
            .Max();

        var down = Count(DownBlockPattern());
        var count = down > 0 ? down : Count(UpBlockPattern());
        if (count == 0)
        {
            throw new InvalidOperationException(
                "Cannot tell the UNet depth: the graph has no /down_blocks.i/ or /up_blocks.j/ nodes, so the grid size of the mid block is unknown.");
        }
        return count;
    }

    public static int GridFactor(SegLayer layer, int downBlockCount)
    {
        var exponent = layer.Group switch
        {
            SegLayerGroup.Down => layer.BlockIndex,
            SegLayerGroup.Mid => downBlockCount - 1,
            _ => downBlockCount - 1 - layer.BlockIndex,
        };
        if (exponent < 0 || exponent > 30)
        {
            throw new InvalidOperationException(
                $"'{layer.ToQNodeName}' does not fit a UNet with {downBlockCount} down blocks (no grid factor for it).");
        }
        return 1 << exponent;
    }

    public static int QueryElementType(NodeProto toQ, TensorTypeIndex types)
    {
        // The weight decides the MatMul type; the activations are the fallback when it is computed rather than stored.
        var type = types.Find(toQ.Input[1]) ?? types.Find(toQ.Output[0]) ?? types.Find(toQ.Input[0]);
        if (type is null)
        {
            throw new InvalidOperationException(
                $"Cannot tell the element type of the query of '{toQ.Name}': its weight '{toQ.Input[1]}' is not an initializer, " +
                "and neither it nor its output has a declared type. Run ONNX shape inference on the model before patching.");
        }
        if (type != (int)TensorProto.Types.DataType.Float && type != (int)TensorProto.Types.DataType.Float16)
        {
            throw new InvalidOperationException(
                $"The query of '{toQ.Name}' has element type {(TensorProto.Types.DataType)type.Value}; SEG blur supports float32 and float16 UNets.");
        }
        return type.Value;
    }

    public static long DefaultOpsetVersion(ModelProto model)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        return opset?.Version ?? throw new InvalidOperationException("The UNet model imports no default-domain opset.");
    }

    [GeneratedRegex(@"^/down_blocks\.([0-9]{1,6})/", RegexOptions.CultureInvariant)]
    private static partial Regex DownBlockPattern();

    [GeneratedRegex(@"^/up_blocks\.([0-9]{1,6})/", RegexOptions.CultureInvariant)]
    private static partial Regex UpBlockPattern();
}

/// <summary>Declared element types of the graph's tensors: initializers, inputs, outputs, value_info, Cast/Constant outputs.</summary>
internal sealed class TensorTypeIndex
{
    private readonly Dictionary<string, int> _types = new(StringComparer.Ordinal);

    public TensorTypeIndex(GraphProto graph)
    {
        foreach (var tensor in graph.Initializer)
        {
            _types.TryAdd(tensor.Name, tensor.DataType);
        }
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
        {
            if (value.Type?.TensorType is { ElemType: > 0 } tensor)
            {
                _types.TryAdd(value.Name, tensor.ElemType);
            }
        }
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Cast" && node.Attribute.FirstOrDefault(a => a.Name == "to") is { } to)
            {
                _types.TryAdd(node.Output[0], (int)to.I);
            }
            else if (node.OpType == "Constant" && node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } value)
            {
                _types.TryAdd(node.Output[0], value.DataType);
            }
        }
    }

    /// <summary>The declared element type of <paramref name="name"/>, or null when none is declared.</summary>
    public int? Find(string name) => _types.TryGetValue(name, out var type) ? type : null;
}

