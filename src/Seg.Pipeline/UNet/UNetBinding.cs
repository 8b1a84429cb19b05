using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.UNet;

/// <summary>
/// A UNet session's inputs and outputs bound once per batch layout with IOBinding: the text embeddings, time ids,
/// blur operators and fork rows are copied to the device when the binding is made, so each step moves only the
/// latents in and the noise prediction out (and the timestep, a few bytes). With <c>deviceResidentSteps</c> the
/// latents, timestep and prediction also get fixed device buffers (as CUDA graphs require) and are copied through
/// <see cref="DeviceTensorCopier"/>; otherwise ONNX Runtime copies the bound host buffers itself.
/// </summary>
public sealed class UNetBinding : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly DeviceTensorCopier _copier;
    private readonly List<OrtValue> _owned = [];
    private readonly TensorElementType _sampleType;
    private readonly TensorElementType _outputType;
    private readonly TensorElementType _timestepType;
    private readonly float[] _sample;
    private readonly Float16[]? _sampleHalves;
    private readonly Array _timestep;
    private readonly float[] _output;
    private readonly Float16[]? _outputHalves;
    private readonly OrtValue _sampleHost;
    private readonly OrtValue _timestepHost;
    private readonly OrtValue _outputHost;
    private readonly (OrtValue Sample, OrtValue Timestep, OrtValue Output)? _resident;

    internal UNetBinding(InferenceSession session, UNetSession unet, UNetInputs constants, DeviceTensorCopier copier, bool deviceResidentSteps)
    {
        _session = session;
        _copier = copier;
        _binding = session.CreateIoBinding();
        try
        {
            var b = constants.Batch;
            var seq = constants.SequenceLength;
            BindConstant("encoder_hidden_states", OnnxTensors.FromFloats(constants.EncoderHiddenStates,
                [b, seq, constants.EncoderHiddenStates.Length / (b * seq)], unet.HiddenStatesType));
            BindConstant("text_embeds", OnnxTensors.FromFloats(constants.TextEmbeds, [b, constants.TextEmbeds.Length / b], unet.TextEmbedsType));
            BindConstant("time_ids", OnnxTensors.FromFloats(constants.TimeIds, [b, constants.TimeIds.Length / b], unet.TimeIdsType));
            foreach (var (name, data, shape) in constants.ExtraInputs)
            {
                BindConstant(name, OnnxTensors.FromFloats(data, shape, session.InputMetadata[name].ElementDataType));
            }
            if (constants.ForkRows is { } rows)
            {
                BindConstant(UNetSegPatcher.ForkRowsInputName, OrtValue.CreateTensorValueFromMemory((long[])rows.Clone(), [rows.Length]));
            }

            long[] sampleShape = [b, 4, constants.LatentHeight, constants.LatentWidth];
            long[] outputShape = [constants.ForkRows?.Length ?? b, 4, constants.LatentHeight, constants.LatentWidth];
            long[] timestepShape = unet.TimestepIsScalar ? [] : [b];
            var latentValues = 4 * constants.LatentHeight * constants.LatentWidth;
            _sampleType = unet.SampleType;
            _outputType = session.OutputMetadata["out_sample"].ElementDataType;
            _timestepType = unet.TimestepType;
            _sample = new float[b * latentValues];
            _output = new float[(constants.ForkRows?.Length ?? b) * latentValues];
            (_sampleHost, _sampleHalves) = HostTensor(_sample, sampleShape, _sampleType);
            (_outputHost, _outputHalves) = HostTensor(_output, outputShape, _outputType);
            (_timestepHost, _timestep) = TimestepTensor(_timestepType, timestepShape);

            if (deviceResidentSteps)
            {
                var sample = Own(copier.Allocate(_sampleType, sampleShape));
                var timestep = Own(copier.Allocate(_timestepType, timestepShape));
                var output = Own(copier.Allocate(_outputType, outputShape));
                _resident = (sample, timestep, output);
                _binding.BindInput("sample", sample);
                _binding.BindInput("timestep", timestep);
                _binding.BindOutput("out_sample", output);
            }
            else
            {
                _binding.BindInput("sample", _sampleHost);
                _binding.BindInput("timestep", _timestepHost);
                _binding.BindOutput("out_sample", _outputHost);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The scaled latents of the next call, batch x 4 x h x w in fp32: fill before <see cref="Predict"/>.</summary>
    public Span<float> Sample => _sample;

    /// <summary>
    /// Runs the UNet on <see cref="Sample"/> at <paramref name="timestep"/> and returns <c>out_sample</c> in fp32, one
    /// row per output item. The array is reused by the next call.
    /// </summary>
    public float[] Predict(double timestep, RunOptions runOptions, SessionRunClock? clock = null)
    {
        ArgumentNullException.ThrowIfNull(runOptions);
        if (_sampleHalves is not null)
        {
            for (var i = 0; i < _sample.Length; i++)
            {
                _sampleHalves[i] = (Float16)_sample[i];
            }
        }
        SetTimestep(timestep);
        (clock ?? new SessionRunClock()).Measure(() =>
        {
            if (_resident is var (sample, step, output))
            {
                _copier.Copy(_sampleHost, sample);
                _copier.Copy(_timestepHost, step);
                _session.RunWithBinding(runOptions, _binding);
                _copier.Copy(output, _outputHost);
            }
            else
            {
                _session.RunWithBinding(runOptions, _binding);
                _binding.SynchronizeBoundOutputs();
            }
            return 0;
        });
        if (_outputHalves is not null)
        {
            for (var i = 0; i < _output.Length; i++)
            {
                _output[i] = (float)_outputHalves[i];
            }
        }
        return _output;
    }

    private void BindConstant(string name, OrtValue host)
    {
        using (host)
        {
            _binding.BindInput(name, Own(_copier.ToDevice(host)));
        }
    }

    private OrtValue Own(OrtValue value)
    {
        _owned.Add(value);
        return value;
    }

    private (OrtValue Value, Float16[]? Halves) HostTensor(float[] data, long[] shape, TensorElementType type)
    {
        if (type == TensorElementType.Float16)
        {
            var halves = new Float16[data.Length];
            return (Own(OrtValue.CreateTensorValueFromMemory(halves, shape)), halves);
        }
        if (type != TensorElementType.Float)
        {
            throw new NotSupportedException($"tensor element type {type} is not a float type");
        }
        return (Own(OrtValue.CreateTensorValueFromMemory(data, shape)), null);
    }

    private (OrtValue Value, Array Data) TimestepTensor(TensorElementType type, long[] shape)
    {
        var count = shape.Length == 0 ? 1 : (int)shape[0];
        return type switch
        {
            TensorElementType.Int64 => Pair(new long[count]),
            TensorElementType.Int32 => Pair(new int[count]),
            TensorElementType.Float => Pair(new float[count]),
            TensorElementType.Float16 => Pair(new Float16[count]),
            TensorElementType.Double => Pair(new double[count]),
            _ => throw new NotSupportedException($"tensor element type {type} is not supported for the timestep"),
        };

        (OrtValue, Array) Pair<T>(T[] data) where T : unmanaged => (Own(OrtValue.CreateTensorValueFromMemory(data, shape)), data);
    }

    private void SetTimestep(double value)
    {
        switch (_timestep)
        {
            case long[] longs: Array.Fill(longs, (long)value); break;
            case int[] ints: Array.Fill(ints, (int)value); break;
            case float[] floats: Array.Fill(floats, (float)value); break;
            case Float16[] halves: Array.Fill(halves, (Float16)(float)value); break;
            case double[] doubles: Array.Fill(doubles, value); break;
            default: throw new NotSupportedException($"timestep type {_timestepType}");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _binding.Dispose();
        foreach (var value in _owned)
        {
            value.Dispose();
        }
        _owned.Clear();
    }
}
