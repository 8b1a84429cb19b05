using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// The shared-prefix edit: the UNet is called with the unperturbed rows only (uncond and cond), and the graph
/// forks them into the full batch (uncond, cond, and a copy of cond per blurred item) just before the first
/// blurred attn1. The blurred branch equals the conditional one up to there, so that part runs once.
/// <para>
/// The shared part is every node the first blurred attn1's input depends on; every other node runs on the forked
/// batch. Each tensor that crosses from the shared part (or from a graph input) into the rest is mapped there:
/// batch-first activations and inputs (hidden states, skip connections, time and text embeddings, encoder states)
/// are gathered along axis 0 by the fork rows input; shape tensors (computed with <c>Shape</c> from batch-first
/// tensors, so they carry the small batch) are computed again from the gathered tensors; constants, initializers,
/// scalar inputs and the blur operator inputs (already of the forked batch) pass unchanged.
/// </para>
/// </summary>
internal sealed class BatchForkGraphEdit(GraphProto graph)
{
    private const string Prefix = "/seg_fork";

    private readonly Dictionary<string, NodeProto> _producers = ProducerIndex(graph);
    private readonly HashSet<string> _initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
    private readonly Dictionary<string, ValueInfoProto> _graphInputs = graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
    private readonly Dictionary<string, TensorKind> _kinds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _mapped = new(StringComparer.Ordinal);
    private readonly List<NodeProto> _inserted = [];
    private readonly HashSet<string> _takenNames = QueryBlurGraphEdit.CollectNames(graph);
    private string _rows = "";

    /// <summary>What a tensor that crosses into the forked part needs there.</summary>
    private enum TensorKind
    {
        /// <summary>The same value serves both batches (constants, scalars, forked-batch inputs).</summary>
        Unchanged,

        /// <summary>A batch-first tensor of the shared batch: gathered along axis 0.</summary>
        Batched,

        /// <summary>Computed from shapes of batch-first tensors: computed again from the gathered ones.</summary>
        FromShapes,
    }

    /// <summary>
    /// Forks the batch before <paramref name="firstBlurredToQ"/> (the earliest blurred to_q MatMul in node order).
    /// </summary>
    /// <param name="firstBlurredToQ">The to_q MatMul whose input is the fork point.</param>
    /// <param name="rowsInput">Name of the int64 [forked batch] input: for each forked row, the input row it copies.</param>
    /// <param name="forkedBatchInputs">Graph inputs that already have the forked batch (the blur operators).</param>
    /// <returns>The name of the tensor where the batch forks.</returns>
    public string Apply(NodeProto firstBlurredToQ, string rowsInput, IReadOnlySet<string> forkedBatchInputs)
    {
        var forkTensor = firstBlurredToQ.Input[0];
        var shared = SharedPrefix.Nodes(graph, forkTensor);
        foreach (var name in forkedBatchInputs)
        {
            _kinds[name] = TensorKind.Unchanged;
        }
        ClassifyNodeOutputs();

        _rows = Claim(rowsInput);
        var rowsShape = new TensorShapeProto();
        rowsShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "seg_batch" });
        var rowsValue = new ValueInfoProto
        {
            Name = _rows,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64, Shape = rowsShape } },
        };

        var sharedNodes = new List<NodeProto>();
        var forkedNodes = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            (shared.Contains(node) ? sharedNodes : forkedNodes).Add(node);
        }
        foreach (var node in forkedNodes)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (Crosses(node.Input[i], shared))
                {
                    node.Input[i] = Map(node.Input[i]);
                }
            }
        }
        foreach (var output in graph.Output)
        {
            if (Crosses(output.Name, shared))
            {
                throw new InvalidOperationException(
                    $"The UNet output '{output.Name}' is computed before the first blurred layer; the batch cannot be forked there.");
            }
            // The outputs have the forked batch, which is not the inputs' batch: give their batch axis its own name.
            if (output.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape && shape.Dim[0].DimParam.Length > 0)
            {
                shape.Dim[0].DimParam = "seg_batch";
            }
        }

        // The shared nodes never read a forked tensor (they are the fork point's ancestors), and the inserted nodes
        // read only shared tensors, inputs and constants: this order is topological.
        graph.Input.Add(rowsValue);
        graph.Node.Clear();
        graph.Node.AddRange(sharedNodes);
        graph.Node.AddRange(_inserted);
        graph.Node.AddRange(forkedNodes);
        // Declared shapes of intermediate tensors would tie both batches to one symbol; they are optional.
        graph.ValueInfo.Clear();
        return forkTensor;
    }

    private bool Crosses(string tensor, HashSet<NodeProto> shared)
    {
        if (tensor.Length == 0 || _initializers.Contains(tensor))
        {
            return false;
        }
        if (_producers.TryGetValue(tensor, out var producer))
        {
            return shared.Contains(producer);
        }
        return _graphInputs.ContainsKey(tensor);
    }

    /// <summary>The tensor that stands for <paramref name="tensor"/> of the shared part in the forked part.</summary>
    private string Map(string tensor)
    {
        if (_mapped.TryGetValue(tensor, out var mapped))
        {
            return mapped;
        }
        mapped = Kind(tensor) switch
        {
            TensorKind.Batched => Gather(tensor),
            TensorKind.FromShapes => Recompute(_producers[tensor], tensor),
            _ => tensor,
        };
        _mapped[tensor] = mapped;
        return mapped;
    }

    private string Gather(string tensor)
    {
        var name = Claim($"{Prefix}/gather{Suffix(tensor)}");
        var node = new NodeProto { Name = name, OpType = "Gather" };
        node.Input.Add(tensor);
        node.Input.Add(_rows);
        node.Output.Add(Claim($"{name}_output_0"));
        node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        _inserted.Add(node);
        return node.Output[0];
    }

    /// <summary>A copy of the node that computes a shape tensor, reading the forked counterparts of its inputs.</summary>
    private string Recompute(NodeProto producer, string tensor)
    {
        var copy = producer.Clone();
        copy.Name = Claim($"{Prefix}/recompute{Suffix(producer.Name)}");
        for (var i = 0; i < copy.Input.Count; i++)
        {
            if (copy.Input[i].Length > 0 && !_initializers.Contains(copy.Input[i]))
            {
                copy.Input[i] = Map(copy.Input[i]);
            }
        }
        string? result = null;
        for (var i = 0; i < copy.Output.Count; i++)
        {
            var original = copy.Output[i];
            if (original.Length == 0)
            {
                continue;
            }
            copy.Output[i] = Claim($"{copy.Name}_output_{i}");
            // Every output of the copy stands for its original, so a sibling output is not computed twice.
            _mapped.TryAdd(original, copy.Output[i]);
            if (original == tensor)
            {
                result = copy.Output[i];
            }
        }
        _inserted.Add(copy);
        return result!;
    }

    private TensorKind Kind(string tensor)
    {
        if (tensor.Length == 0 || _initializers.Contains(tensor))
        {
            return TensorKind.Unchanged;
        }
        if (_kinds.TryGetValue(tensor, out var known))
        {
            return known;
        }
        if (_graphInputs.TryGetValue(tensor, out var input))
        {
            // A scalar input (a timestep of shape []) has no batch axis.
            return input.Type?.TensorType?.Shape is { Dim.Count: 0 } ? TensorKind.Unchanged : TensorKind.Batched;
        }
        throw new InvalidOperationException($"The UNet graph reads '{tensor}', which no earlier node, input or initializer provides.");
    }

    /// <summary>Classifies every node output, in node order (topological, so inputs are known first; no recursion over the graph's depth).</summary>
    private void ClassifyNodeOutputs()
    {
        foreach (var node in graph.Node)
        {
            var inputs = node.Input.Select(Kind).ToList();
            var kind = node.OpType is "Shape" or "Size"
                ? (inputs.Any(k => k != TensorKind.Unchanged) ? TensorKind.FromShapes : TensorKind.Unchanged)
                : inputs.Contains(TensorKind.Batched) ? TensorKind.Batched
                : inputs.Contains(TensorKind.FromShapes) ? TensorKind.FromShapes
                : TensorKind.Unchanged;
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                _kinds.TryAdd(output, kind);
            }
        }
    }

    private static Dictionary<string, NodeProto> ProducerIndex(GraphProto graph)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
            {
                throw new InvalidOperationException(
                    $"The UNet graph has the control-flow node '{node.Name}' ({node.OpType}); the batch fork supports graphs without subgraphs.");
            }
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                producers[output] = node;
            }
        }
        return producers;
    }

    // Keeps inserted names readable and unique: the source name with its leading slash dropped.
    private static string Suffix(string source) => "/" + source.TrimStart('/');

    private string Claim(string name)
    {
        if (!_takenNames.Add(name))
        {
            throw new InvalidOperationException($"The UNet graph already uses the name '{name}' that the batch fork inserts.");
        }
        return name;
    }
}
