using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using Seg.Pipeline.TinyModel;

namespace Seg.Pipeline.Tests.TinyModel;

/// <summary>Writes each tiny model variant once per test class into a temp folder, deleted at the end.</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly ConcurrentDictionary<TinyModelOptions, Lazy<string>> _folders = new();

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "seg-tinymodel-tests-" + Guid.NewGuid().ToString("N"));

    public string Folder(TinyModelOptions options) => _folders.GetOrAdd(options, o => new Lazy<string>(() =>
    {
        var folder = Path.Combine(Root, $"{(o.Fp16 ? "fp16" : "fp32")}-{o.TimestepForm}-{(o.ExternalUNetData ? "ext" : "inline")}-{o.Seed}");
        TinySdxlModelWriter.Write(folder, o);
        return folder;
    })).Value;

    public void Dispose()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

/// <summary>ONNX Runtime and ONNX-graph helpers for the tiny model tests (CPU sessions only).</summary>
internal static class Ort
{
    public static InferenceSession Session(string modelPath)
    {
        using var options = new SessionOptions();
        return new InferenceSession(modelPath, options);
    }

    public static InferenceSession Session(ModelProto model)
    {
        using var options = new SessionOptions();
        return new InferenceSession(model.ToByteArray(), options);
    }

    public static ModelProto Load(string modelPath) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));

    /// <summary>Standard normal values from a seeded generator (test inputs only).</summary>
    public static float[] Randn(int seed, int count)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
        return values;
    }

    /// <summary>A float tensor in the element type the session expects (float or float16).</summary>
    public static OrtValue Floats(bool fp16, float[] values, params long[] shape) => fp16
        ? OrtValue.CreateTensorValueFromMemory(values.Select(v => (Float16)v).ToArray(), shape)
        : OrtValue.CreateTensorValueFromMemory(values, shape);

    public static float[] ToFloats(OrtValue value) =>
        value.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16
            ? value.GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h).ToArray()
            : value.GetTensorDataAsSpan<float>().ToArray();

    public static long[] Shape(OrtValue value) => value.GetTensorTypeAndShape().Shape;

    /// <summary>The five UNet inputs for a random latent of the given size (timestep 500, SDXL time ids).</summary>
    public static Dictionary<string, OrtValue> UNetInputs(InferenceSession session, int batch, int height, int width, int seed = 7)
    {
        var fp16 = session.InputMetadata["sample"].ElementDataType == TensorElementType.Float16;
        var timestepMeta = session.InputMetadata["timestep"];
        OrtValue timestep;
        if (timestepMeta.ElementDataType == TensorElementType.Int64)
        {
            timestep = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(500L, batch).ToArray(), [batch]);
        }
        else if (timestepMeta.Dimensions.Length == 0)
        {
            timestep = Floats(fp16, [500f], []);
        }
        else
        {
            timestep = Floats(fp16, Enumerable.Repeat(500f, batch).ToArray(), batch);
        }
        var timeIds = Enumerable.Range(0, batch)
            .SelectMany(_ => new float[] { height * 8, width * 8, 0, 0, height * 8, width * 8 })
            .ToArray();
        return new Dictionary<string, OrtValue>
        {
            ["sample"] = Floats(fp16, Randn(seed, batch * 4 * height * width), batch, 4, height, width),
            ["timestep"] = timestep,
            ["encoder_hidden_states"] = Floats(fp16, Randn(seed + 1, batch * 77 * 96), batch, 77, 96),
            ["text_embeds"] = Floats(fp16, Randn(seed + 2, batch * 64), batch, 64),
            ["time_ids"] = Floats(fp16, timeIds, batch, 6),
        };
    }

    /// <summary>Runs a session and returns the named outputs as float arrays with their shapes.</summary>
    public static Dictionary<string, (float[] Values, long[] Shape)> Run(
        InferenceSession session, IReadOnlyDictionary<string, OrtValue> inputs, params string[] outputs)
    {
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, inputs.Keys.ToArray(), inputs.Values.ToArray(), outputs);
        var map = new Dictionary<string, (float[], long[])>();
        for (var i = 0; i < outputs.Length; i++)
        {
            map[outputs[i]] = (ToFloats(results[i]), Shape(results[i]));
        }
        return map;
    }

    public static void DisposeAll(IEnumerable<OrtValue> values)
    {
        foreach (var value in values)
        {
            value.Dispose();
        }
    }

    public static double Std(float[] values)
    {
        var mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }

    /// <summary>Exposes intermediate tensors as extra graph outputs (type left to ONNX Runtime's inference).</summary>
    public static void AddOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        foreach (var tensor in tensors)
        {
            model.Graph.Output.Add(new ValueInfoProto { Name = tensor });
        }
    }

    public static IEnumerable<NodeProto> SelfAttentionQueries(ModelProto model) =>
        model.Graph.Node.Where(n => n.OpType == "MatMul" && n.Name.EndsWith("/attn1/to_q/MatMul", StringComparison.Ordinal));
}
