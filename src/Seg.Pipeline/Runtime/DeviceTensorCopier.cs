using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Seg.Pipeline.Runtime;

/// <summary>
/// Copies tensors between host memory and the active provider's device through a one-node Identity session on that
/// provider, with the result bound to device memory by IOBinding (the CUDA provider's own transfer). ONNX Runtime's
/// C# API has no plain host-to-device copy for the classic CUDA provider (<c>OrtEnv.CopyTensors</c> needs a plugin
/// provider), so this small session is ours. On the CPU the same path runs and copies host to host, so tests cover it.
/// </summary>
public sealed class DeviceTensorCopier : IDisposable
{
    private readonly OnnxSessionFactory _sessions;
    private readonly Dictionary<TensorElementType, InferenceSession> _identities = [];
    private readonly Lock _lock = new();
    private OrtAllocator? _allocator;

    /// <summary>Creates a copier for the factory's active provider.</summary>
    public DeviceTensorCopier(OnnxSessionFactory sessions)
    {
        _sessions = sessions ?? throw new ArgumentNullException(nameof(sessions));
        DeviceMemory = sessions.DeviceMemory();
    }

    /// <summary>The memory the device copies live in.</summary>
    public OrtMemoryInfo DeviceMemory { get; }

    /// <summary>
    /// A new tensor in device memory with the contents of <paramref name="host"/>; the caller owns it (and disposes it
    /// before this copier). Never an alias of <paramref name="host"/>: on the CPU, Identity would otherwise hand back
    /// the input's own buffer.
    /// </summary>
    public OrtValue ToDevice(OrtValue host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var info = host.GetTensorTypeAndShape();
        var device = Allocate(info.ElementDataType, info.Shape);
        try
        {
            Copy(host, device);
            return device;
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>An uninitialised tensor in device memory; the caller owns it (and disposes it before this copier).</summary>
    public OrtValue Allocate(TensorElementType type, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        lock (_lock)
        {
            // The device allocator comes from a session on the provider; any of the identity sessions serves.
            _allocator ??= new OrtAllocator(Identity(TensorElementType.Float), DeviceMemory);
            return OrtValue.CreateAllocatedTensorValue(_allocator, type, shape);
        }
    }

    /// <summary>Copies <paramref name="source"/> into the existing tensor <paramref name="destination"/> (same type and shape), on any side.</summary>
    public void Copy(OrtValue source, OrtValue destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        var identity = Identity(source.GetTensorTypeAndShape().ElementDataType);
        using var binding = identity.CreateIoBinding();
        using var runOptions = new RunOptions();
        binding.BindInput("x", source);
        binding.BindOutput("y", destination);
        identity.RunWithBinding(runOptions, binding);
        binding.SynchronizeBoundOutputs();
    }

    private InferenceSession Identity(TensorElementType type)
    {
        lock (_identities)
        {
            if (!_identities.TryGetValue(type, out var session))
            {
                session = _sessions.CreateSession(IdentityModel(type));
                _identities[type] = session;
            }
            return session;
        }
    }

    /// <summary>y = Identity(x) for any shape of one element type.</summary>
    internal static byte[] IdentityModel(TensorElementType type)
    {
        // TensorElementType and ONNX's TensorProto.DataType share their numbering.
        var elementType = (int)type;
        ValueInfoProto Value(string name) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType } },
        };
        var node = new NodeProto { Name = "identity", OpType = "Identity" };
        node.Input.Add("x");
        node.Output.Add("y");
        var graph = new GraphProto { Name = "device_copy" };
        graph.Node.Add(node);
        graph.Input.Add(Value("x"));
        graph.Output.Add(Value("y"));
        var model = new ModelProto { IrVersion = 8, ProducerName = "Seg.Pipeline", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model.ToByteArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _allocator?.Dispose();
        _allocator = null;
        foreach (var session in _identities.Values)
        {
            session.Dispose();
        }
        _identities.Clear();
        if (!ReferenceEquals(DeviceMemory, OrtMemoryInfo.DefaultInstance))
        {
            DeviceMemory.Dispose();
        }
    }
}
