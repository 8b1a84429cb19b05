using Google.Protobuf;
using Onnx;

namespace Seg.Pipeline.Tests.QueryBlur;

/// <summary>
/// Small UNet-like ONNX graphs with exporter-style attention node names: every attn1 (and a few attn2) to_q MatMul
/// reads its own hidden-state input [batch, tokens, channels] and a [C, C] weight, and its output feeds two consumers
/// (an Identity and a Neg) that are graph outputs.
/// </summary>
internal static class SyntheticUNet
{
    /// <summary>3 down, 2 mid, 6 up attn1 layers at grid factors 1, 2, 4 | 4 | 4, 4, 2, 2, 1, 1.</summary>
    public static readonly string[] StandardAttn1 =
    [
        ToQ("down_blocks.0", 0, 0),
        ToQ("down_blocks.1", 0, 0),
        ToQ("down_blocks.2", 0, 0),
        ToQ("mid_block", 0, 0),
        ToQ("mid_block", 0, 1),
        ToQ("up_blocks.0", 0, 0),
        ToQ("up_blocks.0", 1, 0),
        ToQ("up_blocks.1", 0, 0),
        ToQ("up_blocks.1", 1, 0),
        ToQ("up_blocks.2", 0, 0),
        ToQ("up_blocks.2", 1, 0),
    ];

    /// <summary>Cross-attention projections that must never be patched.</summary>
    public static readonly string[] StandardAttn2 =
    [
        "/mid_block/attentions.0/transformer_blocks.0/attn2/to_q/MatMul",
        "/down_blocks.1/attentions.0/transformer_blocks.0/attn2/to_q/MatMul",
    ];

    public static string ToQ(string block, int attention, int transformerBlock) =>
        $"/{block}/attentions.{attention}/transformer_blocks.{transformerBlock}/attn1/to_q/MatMul";

    /// <summary>The graph output that carries the (possibly blurred) query of layer <paramref name="index"/>.</summary>
    public static string QueryOutput(int index) => $"query_{index}";

    /// <summary>The second consumer's output: the negated query.</summary>
    public static string NegatedQueryOutput(int index) => $"neg_query_{index}";

    public static string HiddenInput(int index) => $"hidden_{index}";

    /// <summary>Builds the graph; layer i reads <see cref="HiddenInput"/>(i). Nodes are added in a shuffled order.</summary>
    public static ModelProto Build(
        IReadOnlyList<string> toQNames,
        int channels,
        bool float16 = false,
        long opset = 17,
        int seed = 1)
    {
        var random = new Random(seed);
        var elementType = float16 ? TensorProto.Types.DataType.Float16 : TensorProto.Types.DataType.Float;
        var graph = new GraphProto { Name = "synthetic_unet" };
        var nodes = new List<NodeProto>();
        for (var i = 0; i < toQNames.Count; i++)
        {
            graph.Input.Add(TensorValue(HiddenInput(i), elementType, "batch", $"tokens_{i}", "channels"));
            var weight = $"weight_{i}";
            graph.Initializer.Add(Weight(weight, channels, float16, random));

            var query = $"{toQNames[i]}_output_0";
            nodes.Add(Node("MatMul", toQNames[i], [HiddenInput(i), weight], query));
            nodes.Add(Node("Identity", $"{toQNames[i]}/consumer_identity", [query], QueryOutput(i)));
            nodes.Add(Node("Neg", $"{toQNames[i]}/consumer_neg", [query], NegatedQueryOutput(i)));
            graph.Output.Add(TensorValue(QueryOutput(i), elementType, "batch", $"tokens_{i}", "channels"));
            graph.Output.Add(TensorValue(NegatedQueryOutput(i), elementType, "batch", $"tokens_{i}", "channels"));
        }
        graph.Node.AddRange(nodes.OrderBy(_ => random.Next()));

        var model = new ModelProto { IrVersion = 8, ProducerName = "seg-farm-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static NodeProto Node(string opType, string name, string[] inputs, string output, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    public static ValueInfoProto TensorValue(string name, TensorProto.Types.DataType elementType, params string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = dim });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }

    /// <summary>
    /// Moves every initializer's bytes into one external data file next to <paramref name="modelPath"/> and writes
    /// the model there, as the exporter does for models over 2 GB.
    /// </summary>
    public static void SaveWithExternalData(ModelProto model, string modelPath, string dataFileName)
    {
        var directory = Path.GetDirectoryName(modelPath)!;
        using (var data = File.Create(Path.Combine(directory, dataFileName)))
        {
            foreach (var tensor in model.Graph.Initializer)
            {
                Seg.Pipeline.TinyModel.OnnxGraphBuilder.MoveToExternalData(tensor, data, dataFileName);
            }
        }
        File.WriteAllBytes(modelPath, model.ToByteArray());
    }

    private static TensorProto Weight(string name, int channels, bool float16, Random random)
    {
        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)(float16 ? TensorProto.Types.DataType.Float16 : TensorProto.Types.DataType.Float),
        };
        tensor.Dims.Add(channels);
        tensor.Dims.Add(channels);
        var bytes = new byte[channels * channels * (float16 ? 2 : 4)];
        for (var e = 0; e < channels * channels; e++)
        {
            var value = (float)((random.NextDouble() * 2) - 1);
            if (float16)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(e * 2), (Half)value);
            }
            else
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(e * 4), value);
            }
        }
        tensor.RawData = ByteString.CopyFrom(bytes);
        return tensor;
    }
}
