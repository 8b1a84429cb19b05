using Google.Protobuf;
using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// ONNX model files as the patch reads and writes them: the graph file parsed with its external weights left on
/// disk, the external data locations its tensors name, and a write that a reader never sees half done.
/// </summary>
public static class OnnxModelFile
{

    /// <summary>
    /// The distinct external data locations (relative paths) the model's tensors refer to, e.g. <c>model.onnx_data</c>.
    /// </summary>
    /// <param name="model">A model.</param>
    /// <returns>The locations, sorted ordinally.</returns>
    public static IReadOnlyList<string> ExternalDataLocations(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var locations = new SortedSet<string>(StringComparer.Ordinal);
        if (model.Graph is not null)
        {
            CollectLocations(model.Graph, locations);
        }
        return locations.ToList();
    }

    /// <summary>Reads a model file (graph and inline tensors; external data stays on disk).</summary>
    /// <param name="path">The model.onnx path.</param>
    /// <returns>The parsed model.</returns>
    public static ModelProto Load(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > int.MaxValue)
        {
            throw new InvalidDataException($"'{path}' is {length} bytes; models over 2 GB must keep their weights in external data files");
        }
        using var stream = File.OpenRead(path);
        return ModelProto.Parser.ParseFrom(stream);
    }


    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    /// <param name="model">The model to write.</param>
    /// <param name="path">The destination; its folder must exist.</param>
    public static void WriteAtomically(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Write then rename, so that a reader never sees a half-written model.
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = File.Create(temporary))
            {
                model.WriteTo(stream);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static void CollectLocations(GraphProto graph, SortedSet<string> locations)
    {
        void FromTensor(TensorProto? tensor)
        {
            if (tensor is null)
            {
                return;
            }
            var location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location");
            if (location is not null)
            {
                locations.Add(location.Value);
            }
            else if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                throw new InvalidDataException($"The tensor '{tensor.Name}' is stored externally but has no location.");
            }
        }

        foreach (var tensor in graph.Initializer)
        {
            FromTensor(tensor);
        }
        foreach (var sparse in graph.SparseInitializer)
        {
            FromTensor(sparse.Values);
            FromTensor(sparse.Indices);
        }
        foreach (var attribute in graph.Node.SelectMany(n => n.Attribute))
        {
            FromTensor(attribute.T);
            foreach (var tensor in attribute.Tensors)
            {
                FromTensor(tensor);
            }
            if (attribute.G is not null)
            {
                CollectLocations(attribute.G, locations);
            }
            foreach (var subgraph in attribute.Graphs)
            {
                CollectLocations(subgraph, locations);
            }
        }
    }
}
