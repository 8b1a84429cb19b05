using System.Globalization;
using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>One attn1 layer to blur: its to_q MatMul, the grid factor it runs at, and its query element type.</summary>
internal sealed record QueryBlurLayerPlan(SegLayer Layer, NodeProto Node, int Factor, int ElementType);

/// <summary>The shared tensors of one grid factor: the operator inputs, the grid height and width, and reshape targets.</summary>
internal sealed record QueryBlurFactorTensors(string Rows, string Height, string Width, string ColumnsBroadcast, string RowsMajorShape);

/// <summary>
/// Builds the inserted nodes and inputs, then edits the graph in one go (so a failure leaves it untouched),
/// keeping the node list in topological order.
/// </summary>
internal sealed class QueryBlurGraphEdit(GraphProto graph, long opsetVersion)
{
    private const string SharedPrefix = "/seg_blur";
    private readonly List<NodeProto> _sharedNodes = [];
    private readonly List<ValueInfoProto> _inputs = [];
    private readonly List<(NodeProto ToQ, string Unblurred)> _renames = [];
    private readonly HashSet<string> _takenNames = CollectNames(graph);

    private string Zero { get; set; } = "";

    private string One { get; set; } = "";

    private string Two { get; set; } = "";

    private string MinusOne { get; set; } = "";

    public void Apply(IReadOnlyList<QueryBlurLayerPlan> plans)
    {
        Zero = AddConstant($"{SharedPrefix}/zero", 0);
        One = AddConstant($"{SharedPrefix}/one", 1);
        Two = AddConstant($"{SharedPrefix}/two", 2);
        MinusOne = AddConstant($"{SharedPrefix}/minus_one", -1);

        var grids = new Dictionary<int, QueryBlurFactorTensors>();
        foreach (var byFactor in plans.GroupBy(p => p.Factor).OrderBy(g => g.Key))
        {
            grids[byFactor.Key] = AddFactor(byFactor.Key, byFactor.First().ElementType);
        }

        // Protobuf messages compare by value, and the renames below change the value: key by reference.
        var layerNodes = new Dictionary<NodeProto, List<NodeProto>>(ReferenceEqualityComparer.Instance);
        foreach (var plan in plans)
        {
            layerNodes.Add(plan.Node, BuildLayer(plan, grids[plan.Factor]));
        }

        // Renaming the MatMul output and giving the blurred result the old name rewires every consumer,
        // including graph outputs and subgraphs, and keeps any value_info of the query valid (same shape and type).
        foreach (var (toQ, unblurred) in _renames)
        {
            toQ.Output[0] = unblurred;
        }
        graph.Input.AddRange(_inputs);
        var nodes = new List<NodeProto>(graph.Node.Count + _sharedNodes.Count + (plans.Count * 8));
        nodes.AddRange(_sharedNodes);
        foreach (var node in graph.Node)
        {
            nodes.Add(node);
            if (layerNodes.TryGetValue(node, out var inserted))
            {
                nodes.AddRange(inserted);
            }
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
    }

    /// <summary>Every name the graph uses (inputs, outputs, initializers, value_info, nodes and their tensors).</summary>
    internal static HashSet<string> CollectNames(GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        names.UnionWith(graph.Input.Select(i => i.Name));
        names.UnionWith(graph.Output.Select(o => o.Name));
        names.UnionWith(graph.Initializer.Select(t => t.Name));
        names.UnionWith(graph.ValueInfo.Select(v => v.Name));
        foreach (var node in graph.Node)
        {
            names.Add(node.Name);
            names.UnionWith(node.Input);
            names.UnionWith(node.Output);
        }
        return names;
    }

    private QueryBlurFactorTensors AddFactor(int factor, int elementType)
    {
        var rows = UNetSegPatcher.RowsInputName(factor);
        var cols = UNetSegPatcher.ColumnsInputName(factor);
        var suffix = $"f{factor.ToString(CultureInfo.InvariantCulture)}";
        AddInput(rows, elementType, $"seg_rows_{suffix}");
        AddInput(cols, elementType, $"seg_cols_{suffix}");

        var prefix = $"{SharedPrefix}/{suffix}";
        var rowsShape = Add(_sharedNodes, "Shape", $"{prefix}/rows_shape", [rows]);
        var height = Add(_sharedNodes, "Gather", $"{prefix}/height", [rowsShape, One], Int("axis", 0));
        var colsShape = Add(_sharedNodes, "Shape", $"{prefix}/cols_shape", [cols]);
        var width = Add(_sharedNodes, "Gather", $"{prefix}/width", [colsShape, One], Int("axis", 0));

        // Unsqueeze took its axes as an attribute before opset 13 and as an input since.
        var colsBroadcast = opsetVersion >= 13
            ? Add(_sharedNodes, "Unsqueeze", $"{prefix}/cols_broadcast", [cols, One])
            : Add(_sharedNodes, "Unsqueeze", $"{prefix}/cols_broadcast", [cols], Ints("axes", 1));
        var rowsMajorShape = Add(_sharedNodes, "Concat", $"{prefix}/rows_major_shape", [Zero, height, MinusOne], Int("axis", 0));
        return new QueryBlurFactorTensors(rows, height, width, colsBroadcast, rowsMajorShape);
    }

    private List<NodeProto> BuildLayer(QueryBlurLayerPlan plan, QueryBlurFactorTensors grid)
    {
        var toQ = plan.Node;
        var query = toQ.Output[0];
        var unblurred = Claim($"{query}_seg_unblurred");
        _renames.Add((toQ, unblurred));

        var prefix = toQ.Name[..^UNetGraphAnalysis.ToQNameSuffix.Length] + "/seg_blur";
        var nodes = new List<NodeProto>();
        var queryShape = Add(nodes, "Shape", $"{prefix}/query_shape", [unblurred]);
        var channels = Add(nodes, "Gather", $"{prefix}/channels", [queryShape, Two], Int("axis", 0));
        // Spelling out (B, H, W, C) makes a grid that does not match N fail in Reshape instead of blurring the wrong cells.
        var gridShape = Add(nodes, "Concat", $"{prefix}/grid_shape", [Zero, grid.Height, grid.Width, channels], Int("axis", 0));
        var rowsMajor = Add(nodes, "Reshape", $"{prefix}/rows_major", [unblurred, grid.RowsMajorShape]);
        var rowsBlurred = Add(nodes, "MatMul", $"{prefix}/blur_rows", [grid.Rows, rowsMajor]);
        var asGrid = Add(nodes, "Reshape", $"{prefix}/grid", [rowsBlurred, gridShape]);
        var blurred = Add(nodes, "MatMul", $"{prefix}/blur_cols", [grid.ColumnsBroadcast, asGrid]);
        Add(nodes, "Reshape", $"{prefix}/query", [blurred, queryShape], output: query);
        return nodes;
    }

    private void AddInput(string name, int elementType, string gridDimension)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "seg_batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = gridDimension });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = gridDimension });
        _inputs.Add(new ValueInfoProto
        {
            Name = Claim(name),
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        });
    }

    private string AddConstant(string name, long value)
    {
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(1);
        tensor.Int64Data.Add(value);
        var attribute = new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor };
        return Add(_sharedNodes, "Constant", name, [], attribute);
    }

    private string Add(List<NodeProto> nodes, string opType, string name, string[] inputs, AttributeProto? attribute = null, string? output = null)
    {
        var node = new NodeProto { Name = Claim(name), OpType = opType };
        node.Input.AddRange(inputs);
        var outputName = output ?? Claim($"{name}_output_0");
        node.Output.Add(outputName);
        if (attribute is not null)
        {
            node.Attribute.Add(attribute);
        }
        nodes.Add(node);
        return outputName;
    }

    private string Claim(string name)
    {
        if (!_takenNames.Add(name))
        {
            throw new InvalidOperationException($"The UNet graph already uses the name '{name}' that the SEG patch inserts.");
        }
        return name;
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, long value)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(value);
        return attribute;
    }
}
