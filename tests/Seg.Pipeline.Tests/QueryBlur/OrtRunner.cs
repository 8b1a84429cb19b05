using Microsoft.ML.OnnxRuntime;

namespace Seg.Pipeline.Tests.QueryBlur;

/// <summary>Runs a model on the ONNX Runtime CPU provider with float32 or float16 tensors given as float arrays.</summary>
internal static class OrtRunner
{
    public sealed record Tensor(float[] Data, long[] Shape);

    public static Dictionary<string, float[]> Run(byte[] model, IReadOnlyDictionary<string, Tensor> inputs, IEnumerable<string> outputs, bool float16 = false)
    {
        using var session = new InferenceSession(model);
        return Run(session, inputs, outputs, float16);
    }

    public static Dictionary<string, float[]> Run(string modelPath, IReadOnlyDictionary<string, Tensor> inputs, IEnumerable<string> outputs, bool float16 = false)
    {
        using var session = new InferenceSession(modelPath);
        return Run(session, inputs, outputs, float16);
    }

    /// <summary>Runs a cached patched graph whose external weights stay in <paramref name="externalDataFolder"/>.</summary>
    public static Dictionary<string, float[]> RunWithExternalData(string modelPath, string externalDataFolder, IReadOnlyDictionary<string, Tensor> inputs, IEnumerable<string> outputs)
    {
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", externalDataFolder);
        using var session = new InferenceSession(File.ReadAllBytes(modelPath), options);
        return Run(session, inputs, outputs, float16: false);
    }

    private static Dictionary<string, float[]> Run(InferenceSession session, IReadOnlyDictionary<string, Tensor> inputs, IEnumerable<string> outputs, bool float16)
    {
        var values = new List<OrtValue>();
        try
        {
            foreach (var input in inputs.Values)
            {
                values.Add(float16
                    ? OrtValue.CreateTensorValueFromMemory(input.Data.Select(v => new Float16(BitConverter.HalfToUInt16Bits((Half)v))).ToArray(), input.Shape)
                    : OrtValue.CreateTensorValueFromMemory(input.Data, input.Shape));
            }
            var outputNames = outputs.ToArray();
            using var options = new RunOptions();
            using var results = session.Run(options, inputs.Keys.ToArray(), values, outputNames);
            var map = new Dictionary<string, float[]>();
            for (var i = 0; i < outputNames.Length; i++)
            {
                map[outputNames[i]] = float16
                    ? results[i].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray()
                    : results[i].GetTensorDataAsSpan<float>().ToArray();
            }
            return map;
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }
}
