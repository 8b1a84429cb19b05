using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Seg.Pipeline.TinyModel;

/// <summary>
/// Builds an ONNX graph the way the PyTorch exporter lays one out: nodes named after their module path
/// (<c>/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul</c>), outputs named
/// <c>{node}_output_0</c>, weights as initializers named after the parameter path, shape constants as
/// <c>Constant</c> nodes. OnnxSharp has only the protobuf classes, so this small builder is ours.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const int Opset = 17;
    public const long IrVersion = 8;

    private readonly GraphProto _graph = new() { Name = "main_graph" };
    private readonly List<string> _scopes = [];
    private readonly Dictionary<string, int> _nodeNameUses = new(StringComparer.Ordinal);
    private readonly Random _random;
    private readonly Stream? _externalData;
    private readonly string _externalLocation;

    /// <summary>Creates a builder whose weights are drawn from <paramref name="seed"/>.</summary>
    /// <param name="fp16">Float16 weights and activations.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="externalData">When set, each weight is written to this stream as it is drawn and the graph only
    /// refers to it (ONNX external data named <paramref name="externalLocation"/>), so memory stays bounded by the
    /// largest weight whatever the model's size.</param>
    /// <param name="externalLocation">The data file's name relative to the model file.</param>
    public OnnxGraphBuilder(bool fp16, int seed, Stream? externalData = null, string externalLocation = "")
    {
        Fp16 = fp16;
        // System.Random with a seed uses the legacy, fully deterministic algorithm on every platform.
        _random = new Random(seed);
        _externalData = externalData;
        _externalLocation = externalLocation;
    }

    /// <summary>Whether weights and activations are float16.</summary>
    public bool Fp16 { get; }

    /// <summary>The ONNX element type of weights and activations.</summary>
    public int FloatType => Fp16 ? (int)TensorProto.Types.DataType.Float16 : (int)TensorProto.Types.DataType.Float;

    public static int Float32 => (int)TensorProto.Types.DataType.Float;

    public static int Float16 => (int)TensorProto.Types.DataType.Float16;

    public static int Int64 => (int)TensorProto.Types.DataType.Int64;

    public static int Int32 => (int)TensorProto.Types.DataType.Int32;

    public GraphProto Graph => _graph;

    /// <summary>Enters a module; dispose to leave it. Node names and parameter names follow the scope.</summary>
    public ScopeHandle Scope(string module)
    {
        _scopes.Add(module);
        return new ScopeHandle(this);
    }

    /// <summary>Leaves the innermost module.</summary>
    public readonly struct ScopeHandle(OnnxGraphBuilder builder) : IDisposable
    {
        public void Dispose() => builder._scopes.RemoveAt(builder._scopes.Count - 1);
    }

    private string ModulePath => _scopes.Count == 0 ? string.Empty : "/" + string.Join('/', _scopes);

    private string ParameterName(string leaf) => _scopes.Count == 0 ? leaf : string.Join('.', _scopes) + "." + leaf;

    // ---- graph inputs and outputs ----

    /// <summary>Adds a graph input; each dimension is a symbolic name (string) or a fixed size (int).</summary>
    public string Input(string name, int elemType, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, elemType, dims));
        return name;
    }

    /// <summary>Makes <paramref name="tensor"/> a graph output called <paramref name="name"/>.</summary>
    public void Output(string tensor, string name, int elemType, params object[] dims)
    {
        RenameTensor(tensor, name);
        _graph.Output.Add(ValueInfo(name, elemType, dims));
    }

    /// <summary>Renames a tensor everywhere (as the exporter names graph outputs after the user's names).</summary>
    public void RenameTensor(string from, string to)
    {
        if (from == to)
        {
            return;
        }
        foreach (var node in _graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }
            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i] == from)
                {
                    node.Output[i] = to;
                }
            }
        }
    }

    private static ValueInfoProto ValueInfo(string name, int elemType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"dims must be string or int (got {dim.GetType().Name})", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }

    // ---- nodes ----

    /// <summary>Adds a node named <c>{module path}/{opType}[_n]</c>; returns its output tensor names.</summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, int outputCount, params AttributeProto[] attributes)
    {
        var baseName = ModulePath + "/" + opType;
        var uses = _nodeNameUses.GetValueOrDefault(baseName);
        _nodeNameUses[baseName] = uses + 1;
        var name = uses == 0 ? baseName : $"{baseName}_{uses}";
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        var outputs = new string[outputCount];
        for (var i = 0; i < outputCount; i++)
        {
            outputs[i] = $"{name}_output_{i}";
        }
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Adds a single-output node.</summary>
    public string Op(string opType, params string[] inputs) => Node(opType, inputs, 1)[0];

    /// <summary>Adds a single-output node with attributes.</summary>
    public string Op(string opType, string[] inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, 1, attributes)[0];

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attr(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>An int64 vector as a <c>Constant</c> node, as the exporter emits shape constants.</summary>
    public string Int64s(params long[] values) =>
        ConstantNode(Tensor(string.Empty, Int64, [values.Length], MemoryMarshal.AsBytes(values.AsSpan())));

    /// <summary>A float scalar constant in the activation dtype.</summary>
    public string Scalar(float value) => Fp16 ? ScalarOf(value, Float16) : ScalarOf(value, Float32);

    /// <summary>A float scalar constant of the given float type.</summary>
    public string ScalarOf(float value, int elemType) =>
        ConstantNode(FloatTensor(string.Empty, elemType, [], [value]));

    /// <summary>A float constant tensor in the activation dtype (for computed buffers such as masks).</summary>
    public string FloatConstant(int[] dims, float[] values, int? elemType = null) =>
        ConstantNode(FloatTensor(string.Empty, elemType ?? FloatType, dims, values));

    private string ConstantNode(TensorProto value) =>
        Node("Constant", [], 1, new AttributeProto
        {
            Name = "value",
            Type = AttributeProto.Types.AttributeType.Tensor,
            T = value,
        })[0];

    // ---- weights ----

    /// <summary>A weight with entries drawn from N(mean, std^2), named after the current module.</summary>
    public string Parameter(string leaf, int[] dims, float std, float mean = 0f)
    {
        var count = 1;
        foreach (var d in dims)
        {
            count *= d;
        }
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = mean + (std * NextGaussian());
        }
        return Parameter(leaf, dims, values);
    }

    /// <summary>A weight with the given values, named after the current module.</summary>
    public string Parameter(string leaf, int[] dims, float[] values)
    {
        var name = ParameterName(leaf);
        var tensor = FloatTensor(name, FloatType, dims, values);
        if (_externalData is not null)
        {
            MoveToExternalData(tensor, _externalData, _externalLocation);
        }
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Appends <paramref name="tensor"/>'s raw data to <paramref name="data"/> and makes the tensor refer to it.</summary>
    public static void MoveToExternalData(TensorProto tensor, Stream data, string location)
    {
        // Align each tensor as onnx's external-data helper may; harmless for readers, friendly to mmap.
        const int Alignment = 64;
        var padding = (int)((Alignment - (data.Position % Alignment)) % Alignment);
        data.Write(new byte[padding]);
        var offset = data.Position;
        var bytes = tensor.RawData.Span;
        data.Write(bytes);
        tensor.RawData = ByteString.Empty;
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    private float NextGaussian()
    {
        // Box-Muller; 1 - NextDouble() keeps the logarithm finite.
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    private static TensorProto FloatTensor(string name, int elemType, int[] dims, float[] values)
    {
        if (elemType == Float16)
        {
            var halves = new Half[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                halves[i] = (Half)values[i];
            }
            return Tensor(name, elemType, dims, MemoryMarshal.AsBytes(halves.AsSpan()));
        }
        return Tensor(name, elemType, dims, MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static TensorProto Tensor(string name, int elemType, int[] dims, ReadOnlySpan<byte> littleEndianBytes)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this writer needs a little-endian machine.");
        }
        var tensor = new TensorProto { Name = name, DataType = elemType, RawData = ByteString.CopyFrom(littleEndianBytes) };
        foreach (var d in dims)
        {
            tensor.Dims.Add(d);
        }
        return tensor;
    }

    // ---- the model ----

    public ModelProto ToModel(string docString) => new()
    {
        IrVersion = IrVersion,
        ProducerName = "Seg.Pipeline.TinyModel",
        ProducerVersion = "1",
        DocString = docString,
        OpsetImport = { new OperatorSetIdProto { Domain = string.Empty, Version = Opset } },
        Graph = _graph,
    };
}
