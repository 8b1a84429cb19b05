using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Seg.Pipeline.Models;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.UNet;

/// <summary>The inputs of one UNet call, all in fp32 with the batch first.</summary>
/// <param name="Batch">Items in the call.</param>
/// <param name="LatentHeight">Latent rows (image height / 8).</param>
/// <param name="LatentWidth">Latent columns (image width / 8).</param>
/// <param name="Sample">Scaled latents, batch x 4 x h x w.</param>
/// <param name="Timestep">The scheduler's timestep, the same for every item.</param>
/// <param name="SequenceLength">Tokens per prompt (77).</param>
/// <param name="EncoderHiddenStates">Prompt token states, batch x sequence x features.</param>
/// <param name="TextEmbeds">Pooled prompt embeddings, batch x pooled features.</param>
/// <param name="TimeIds">SDXL micro-conditioning, batch x 6.</param>
/// <param name="ExtraInputs">Further graph inputs by name (the SEG blur operators), with their shapes.</param>
/// <param name="ForkRows">For a forked SEG patch: the input row each output row copies (its length is the output
/// batch); null when the output has the input's batch.</param>
public sealed record UNetInputs(
    int Batch,
    int LatentHeight,
    int LatentWidth,
    float[] Sample,
    double Timestep,
    int SequenceLength,
    float[] EncoderHiddenStates,
    float[] TextEmbeds,
    float[] TimeIds,
    IReadOnlyList<(string Name, float[] Data, long[] Shape)> ExtraInputs,
    long[]? ForkRows = null);

/// <summary>
/// One UNet session with its interface read from the graph: element types, the timestep's form (int64 [B],
/// float [B] or a float scalar, as exports differ) and any inputs beyond SDXL's five.
/// </summary>
public sealed class UNetSession : IDisposable
{
    private static readonly string[] RequiredInputs = ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"];
    private readonly InferenceSession _session;

    /// <summary>Opens the UNet graph at <paramref name="modelPath"/> and checks its interface.</summary>
    /// <exception cref="ModelFolderException">An input or output of the SDXL interface is missing or of the wrong type.</exception>
    /// <param name="modelPath">The UNet graph.</param>
    /// <param name="sessions">Creates the session on the configured provider.</param>
    /// <param name="externalDataFolder">Folder of the external weights when not beside <paramref name="modelPath"/>.</param>
    /// <param name="configure">Changes to the session options (benchmarks: profiling, optimisation level).</param>
    public UNetSession(string modelPath, OnnxSessionFactory sessions, string? externalDataFolder = null, Action<SessionOptions>? configure = null)
    {
        _session = sessions.CreateSession(modelPath, externalDataFolder, configure);
        var inputs = _session.InputMetadata;
        var missing = RequiredInputs.Where(n => !inputs.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelFolderException(
                $"model: unet/model.onnx lacks the SDXL input(s) {string.Join(", ", missing)} " +
                $"(found: {string.Join(", ", inputs.Keys)})");
        }
        if (!_session.OutputMetadata.ContainsKey("out_sample"))
        {
            throw new ModelFolderException(
                $"model: unet/model.onnx has no 'out_sample' output (found: {string.Join(", ", _session.OutputMetadata.Keys)})");
        }

        SampleType = FloatType(inputs["sample"], "sample");
        HiddenStatesType = FloatType(inputs["encoder_hidden_states"], "encoder_hidden_states");
        TextEmbedsType = FloatType(inputs["text_embeds"], "text_embeds");
        TimeIdsType = FloatType(inputs["time_ids"], "time_ids");
        var timestep = inputs["timestep"];
        TimestepType = timestep.ElementDataType;
        TimestepIsScalar = timestep.Dimensions.Length == 0;
        if (TimestepType is not (TensorElementType.Int64 or TensorElementType.Int32 or TensorElementType.Float
            or TensorElementType.Float16 or TensorElementType.Double))
        {
            throw new ModelFolderException($"model: unet/model.onnx timestep has unsupported type {TimestepType}");
        }
        ExtraInputNames = inputs.Keys.Where(k => !RequiredInputs.Contains(k)).ToList();
        EncoderHiddenSize = (int)inputs["encoder_hidden_states"].Dimensions[^1];
        TextEmbedsSize = (int)inputs["text_embeds"].Dimensions[^1];
    }

    /// <summary>Element type of <c>sample</c> and <c>out_sample</c> (float or float16).</summary>
    public TensorElementType SampleType { get; }

    /// <summary>Element type of <c>encoder_hidden_states</c>.</summary>
    public TensorElementType HiddenStatesType { get; }

    /// <summary>Element type of <c>text_embeds</c>.</summary>
    public TensorElementType TextEmbedsType { get; }

    /// <summary>Element type of <c>time_ids</c>.</summary>
    public TensorElementType TimeIdsType { get; }

    /// <summary>Element type of <c>timestep</c>.</summary>
    public TensorElementType TimestepType { get; }

    /// <summary>True when the export takes the timestep as a scalar rather than one value per item.</summary>
    public bool TimestepIsScalar { get; }

    /// <summary>Graph inputs beyond SDXL's five (the SEG blur operators of a patched UNet).</summary>
    public IReadOnlyList<string> ExtraInputNames { get; }

    /// <summary>Features per token that the UNet expects (2048 for SDXL; -1 if symbolic).</summary>
    public int EncoderHiddenSize { get; }

    /// <summary>Features of the pooled embedding that the UNet expects (1280 for SDXL; -1 if symbolic).</summary>
    public int TextEmbedsSize { get; }

    /// <summary>Runs one UNet call and returns <c>out_sample</c> in fp32.</summary>
    public float[] Predict(UNetInputs inputs, RunOptions runOptions, SessionRunClock? clock = null)
    {
        var b = inputs.Batch;
        var seq = inputs.SequenceLength;
        var names = new List<string>(5 + inputs.ExtraInputs.Count);
        var values = new List<OrtValue>(5 + inputs.ExtraInputs.Count);
        try
        {
            Add("sample", OnnxTensors.FromFloats(inputs.Sample, [b, 4, inputs.LatentHeight, inputs.LatentWidth], SampleType));
            Add("timestep", OnnxTensors.FromScalarValue(inputs.Timestep, TimestepIsScalar ? [] : [b], TimestepType));
            Add("encoder_hidden_states", OnnxTensors.FromFloats(inputs.EncoderHiddenStates,
                [b, seq, inputs.EncoderHiddenStates.Length / (b * seq)], HiddenStatesType));
            Add("text_embeds", OnnxTensors.FromFloats(inputs.TextEmbeds, [b, inputs.TextEmbeds.Length / b], TextEmbedsType));
            Add("time_ids", OnnxTensors.FromFloats(inputs.TimeIds, [b, inputs.TimeIds.Length / b], TimeIdsType));
            foreach (var (name, data, shape) in inputs.ExtraInputs)
            {
                Add(name, OnnxTensors.FromFloats(data, shape, _session.InputMetadata[name].ElementDataType));
            }
            if (inputs.ForkRows is { } rows)
            {
                Add(UNetSegPatcher.ForkRowsInputName, OrtValue.CreateTensorValueFromMemory(rows, [rows.Length]));
            }

            using var outputs = (clock ?? new SessionRunClock()).Measure(() => _session.Run(runOptions, names, values, ["out_sample"]));
            return OnnxTensors.ToFloats(outputs[0]);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }

        void Add(string name, OrtValue value)
        {
            names.Add(name);
            values.Add(value);
        }
    }

    private static TensorElementType FloatType(NodeMetadata metadata, string name) =>
        metadata.ElementDataType is TensorElementType.Float or TensorElementType.Float16
            ? metadata.ElementDataType
            : throw new ModelFolderException($"model: unet/model.onnx input '{name}' must be float or float16 (got {metadata.ElementDataType})");

    /// <summary>
    /// Binds the constant inputs of a run of steps (everything in <paramref name="constants"/> but its sample and
    /// timestep, which <see cref="UNetBinding.Predict"/> takes per step) once, on the device of <paramref name="copier"/>.
    /// </summary>
    /// <param name="constants">The batch, sizes, embeddings, time ids, blur operators and fork rows.</param>
    /// <param name="copier">Copies the constants to the session's device.</param>
    /// <param name="deviceResidentSteps">Give the latents, timestep and prediction fixed device buffers too (CUDA graphs need them).</param>
    public UNetBinding Bind(UNetInputs constants, DeviceTensorCopier copier, bool deviceResidentSteps = false)
    {
        ArgumentNullException.ThrowIfNull(constants);
        ArgumentNullException.ThrowIfNull(copier);
        return new UNetBinding(_session, this, constants, copier, deviceResidentSteps);
    }

    /// <summary>Ends ONNX Runtime profiling of a session opened with profiling on; returns the profile's file path.</summary>
    public string EndProfiling() => _session.EndProfiling();

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
