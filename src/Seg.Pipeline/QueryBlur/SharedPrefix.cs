using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>The shared part of a forked SEG patch: every node that the fork tensor depends on.</summary>
public static class SharedPrefix
{
    /// <summary>
    /// The nodes <paramref name="tensor"/> depends on, directly or through other nodes (by identity). For the fork
    /// tensor of a forked patch (<see cref="SegPatchInfo.ForkTensor"/>) these run once for the cond and blurred rows.
    /// </summary>
    /// <param name="graph">A graph.</param>
    /// <param name="tensor">A tensor of it.</param>
    /// <returns>The ancestor nodes.</returns>
    public static HashSet<NodeProto> Nodes(GraphProto graph, string tensor)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                producers[output] = node;
            }
        }
        // Protobuf messages compare by value: identity is what matters here.
        var found = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<string>([tensor]);
        while (pending.TryPop(out var name))
        {
            if (producers.TryGetValue(name, out var producer) && found.Add(producer))
            {
                foreach (var input in producer.Input)
                {
                    pending.Push(input);
                }
            }
        }
        return found;
    }
}
