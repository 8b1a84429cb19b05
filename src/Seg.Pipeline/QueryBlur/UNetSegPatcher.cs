using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
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
public static partial class UNetSegPatcher
{
    /// <summary>Version of the patch layout; part of cache keys and provenance. Bump on any change to the graph edit.</summary>
    public const int PatchVersion = 1;

    /// <summary>Key of the model metadata entry holding the <see cref="SegPatchInfo"/> JSON.</summary>
    public const string MetadataKey = "seg.patch";

    /// <summary>Prefix of every inserted graph input.</summary>
    public const string InputPrefix = "seg_blur_";

    private const string Float32Name = "float32";
    private const string Float16Name = "float16";
    private const string ToQSuffix = "/to_q/MatMul";

    // ORT contrib and ONNX ops that replace the separate q/k/v projections once attention is fused.
    private static readonly HashSet<string> s_fusedAttentionOps = new(StringComparer.Ordinal)
    {
        "Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention", "GroupQueryAttention",
    };

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
    /// <returns>What was patched.</returns>
    /// <exception cref="InvalidOperationException">The model is already patched, its attention is fused, it has no
    /// attn1 to_q MatMul, or the query element type cannot be told.</exception>
    /// <exception cref="ArgumentException">The selection does not fit this UNet.</exception>
    public static SegPatchInfo Patch(ModelProto model, SegLayerSelection layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        var graph = model.Graph ?? throw new ArgumentException("the model has no graph", nameof(model));

        if (ReadPatchInfo(model) is { } existing)
        {
            throw new InvalidOperationException(
                $"The UNet is already SEG-patched (patch version {existing.PatchVersion}, layers '{existing.Layers}'); patch the original export instead.");
        }
        if (graph.Input.FirstOrDefault(i => i.Name.StartsWith(InputPrefix, StringComparison.Ordinal)) is { } seg)
        {
            throw new InvalidOperationException($"The UNet is already SEG-patched (it has the input '{seg.Name}'); patch the original export instead.");
        }

        var toQNodes = FindToQMatMuls(graph);
        var selected = layers.Resolve(toQNodes.Keys.ToList());
        var downBlockCount = CountDownBlocks(graph);
        var types = new TensorTypeIndex(graph);

        var plans = selected
            .Select(layer =>
            {
                var node = toQNodes[layer.ToQNodeName];
                return new LayerPlan(layer, node, GridFactor(layer, downBlockCount), QueryElementType(node, types));
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

        var builder = new PatchBuilder(graph, DefaultOpsetVersion(model));
        builder.Apply(plans);

        var info = new SegPatchInfo(
            PatchVersion,
            layers.Canonical,
            downBlockCount,
            plans.Select(p => p.Node.Name).ToList(),
            pairs);
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
    /// <returns>What was patched.</returns>
    public static SegPatchInfo PatchFile(string unetModelPath, string outputModelPath, SegLayerSelection layers)
    {
        var source = Path.GetFullPath(unetModelPath);
        return PatchLoaded(LoadModel(source), source, outputModelPath, layers);
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
    public static ModelProto LoadModel(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > int.MaxValue)
        {
            throw new InvalidDataException($"'{path}' is {length} bytes; models over 2 GB must keep their weights in external data files");
        }
        using var stream = File.OpenRead(path);
        return ModelProto.Parser.ParseFrom(stream);
    }

    /// <summary>Patches an already loaded <paramref name="model"/> read from <paramref name="sourceModelPath"/> and writes it.</summary>
    internal static SegPatchInfo PatchLoaded(ModelProto model, string sourceModelPath, string outputModelPath, SegLayerSelection layers, bool linkExternalData = true)
    {
        var source = Path.GetFullPath(sourceModelPath);
        var output = Path.GetFullPath(outputModelPath);
        if (string.Equals(source, output, StringComparison.Ordinal))
        {
            throw new ArgumentException($"outputModelPath must differ from the UNet model path (the original is never rewritten; got '{output}')", nameof(outputModelPath));
        }

        var info = Patch(model, layers);
        var outputDirectory = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(outputDirectory);
        if (linkExternalData)
        {
            LinkExternalData(ExternalDataLocations(model), Path.GetDirectoryName(source)!, outputDirectory);
        }

        // Write then rename, so that a reader never sees a half-written model.
        var temporary = $"{output}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = File.Create(temporary))
            {
                model.WriteTo(stream);
            }
            File.Move(temporary, output, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return info;
    }

    private static Dictionary<string, NodeProto> FindToQMatMuls(GraphProto graph)
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

    private static int CountDownBlocks(GraphProto graph)
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

    private static int GridFactor(SegLayer layer, int downBlockCount)
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

    private static int QueryElementType(NodeProto toQ, TensorTypeIndex types)
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

    private static string ElementTypeName(int elementType) =>
        elementType == (int)TensorProto.Types.DataType.Float16 ? Float16Name : Float32Name;

    private static long DefaultOpsetVersion(ModelProto model)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        return opset?.Version ?? throw new InvalidOperationException("The UNet model imports no default-domain opset.");
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

    private static void LinkExternalData(IReadOnlyList<string> locations, string sourceDirectory, string outputDirectory)
    {
        var sameFolder = string.Equals(Path.GetFullPath(sourceDirectory), Path.GetFullPath(outputDirectory), StringComparison.Ordinal);
        foreach (var location in locations)
        {
            if (Path.IsPathRooted(location) || location.Split('/', '\\').Any(part => part == ".."))
            {
                throw new InvalidDataException($"External data location '{location}' must be a relative path inside the model folder.");
            }
            var source = Path.Combine(sourceDirectory, location);
            if (!File.Exists(source))
            {
                throw new FileNotFoundException($"The external data file '{location}' the UNet refers to is missing next to it.", source);
            }
            if (sameFolder)
            {
                continue;
            }

            var target = Path.Combine(outputDirectory, location);
            if (File.Exists(target) || Directory.Exists(target))
            {
                // A hard link shares size and modification time with its source; anything else is someone else's file.
                var (src, dst) = (new FileInfo(source), new FileInfo(target));
                if (dst.Exists && src.Length == dst.Length && src.LastWriteTimeUtc == dst.LastWriteTimeUtc)
                {
                    continue;
                }
                throw new IOException($"'{target}' already exists and is not the UNet's '{location}'; write the patched model to another folder.");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            HardLink(source, target);
        }
    }

    private static void HardLink(string source, string target)
    {
        if (Link(source, target) == 0)
        {
            return;
        }
        var errno = Marshal.GetLastPInvokeError();
        throw new IOException(
            $"Cannot hard-link the external weights '{source}' to '{target}' ({Marshal.GetPInvokeErrorMessage(errno)}). " +
            "ONNX Runtime refuses external data reached through a symlink that leaves the model folder, and the weights " +
            "are never copied, so the patched model must be written on the same file system as the UNet.");
    }

    // .NET has no hard-link API; link(2) shares the weights without copying them.
    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existingPath, string newPath);

    [GeneratedRegex(@"^/down_blocks\.([0-9]{1,6})/", RegexOptions.CultureInvariant)]
    private static partial Regex DownBlockPattern();

    [GeneratedRegex(@"^/up_blocks\.([0-9]{1,6})/", RegexOptions.CultureInvariant)]
    private static partial Regex UpBlockPattern();

    private sealed record LayerPlan(SegLayer Layer, NodeProto Node, int Factor, int ElementType);

    /// <summary>Declared element types of the graph's tensors: initializers, inputs, outputs, value_info, Cast/Constant outputs.</summary>
    private sealed class TensorTypeIndex
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

        public int? Find(string name) => _types.TryGetValue(name, out var type) ? type : null;
    }

    /// <summary>
    /// Builds the inserted nodes and inputs, then edits the graph in one go (so a failure leaves it untouched),
    /// keeping the node list in topological order.
    /// </summary>
    private sealed class PatchBuilder(GraphProto graph, long opsetVersion)
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

        public void Apply(IReadOnlyList<LayerPlan> plans)
        {
            Zero = AddConstant($"{SharedPrefix}/zero", 0);
            One = AddConstant($"{SharedPrefix}/one", 1);
            Two = AddConstant($"{SharedPrefix}/two", 2);
            MinusOne = AddConstant($"{SharedPrefix}/minus_one", -1);

            var grids = new Dictionary<int, FactorTensors>();
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

        private static HashSet<string> CollectNames(GraphProto graph)
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

        private FactorTensors AddFactor(int factor, int elementType)
        {
            var rows = RowsInputName(factor);
            var cols = ColumnsInputName(factor);
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
            return new FactorTensors(rows, height, width, colsBroadcast, rowsMajorShape);
        }

        private List<NodeProto> BuildLayer(LayerPlan plan, FactorTensors grid)
        {
            var toQ = plan.Node;
            var query = toQ.Output[0];
            var unblurred = Claim($"{query}_seg_unblurred");
            _renames.Add((toQ, unblurred));

            var prefix = toQ.Name[..^ToQSuffix.Length] + "/seg_blur";
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

    private sealed record FactorTensors(string Rows, string Height, string Width, string ColumnsBroadcast, string RowsMajorShape);
}
