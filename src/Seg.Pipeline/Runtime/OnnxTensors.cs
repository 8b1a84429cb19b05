using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Seg.Pipeline.Runtime;

/// <summary>
/// Moves float data in and out of ONNX Runtime values in the element type a graph declares (fp32 or fp16),
/// so the rest of the pipeline works in fp32 whatever the export.
/// </summary>
public static class OnnxTensors
{
    /// <summary>Creates a tensor of <paramref name="elementType"/> (float or float16) from fp32 data.</summary>
    public static OrtValue FromFloats(float[] data, long[] shape, TensorElementType elementType)
    {
        switch (elementType)
        {
            case TensorElementType.Float:
                return OrtValue.CreateTensorValueFromMemory(data, shape);
            case TensorElementType.Float16:
                var halves = new Float16[data.Length];
                for (var i = 0; i < data.Length; i++)
                {
                    halves[i] = new Float16(BitConverter.HalfToUInt16Bits((Half)data[i]));
                }
                return OrtValue.CreateTensorValueFromMemory(halves, shape);
            default:
                throw new NotSupportedException($"tensor element type {elementType} is not a float type");
        }
    }

    /// <summary>Creates a tensor of the given numeric element type holding one value per element.</summary>
    public static OrtValue FromScalarValue(double value, long[] shape, TensorElementType elementType)
    {
        var count = checked((int)shape.Aggregate(1L, (a, b) => a * b));
        switch (elementType)
        {
            case TensorElementType.Int64:
                return OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)value, count).ToArray(), shape);
            case TensorElementType.Int32:
                return OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((int)value, count).ToArray(), shape);
            case TensorElementType.Float:
            case TensorElementType.Float16:
                return FromFloats(Enumerable.Repeat((float)value, count).ToArray(), shape, elementType);
            case TensorElementType.Double:
                return OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(value, count).ToArray(), shape);
            default:
                throw new NotSupportedException($"tensor element type {elementType} is not supported for a scalar input");
        }
    }

    /// <summary>Copies a float or float16 tensor into a new fp32 array.</summary>
    public static float[] ToFloats(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                return value.GetTensorDataAsSpan<float>().ToArray();
            case TensorElementType.Float16:
                var halves = value.GetTensorDataAsSpan<Float16>();
                var result = new float[halves.Length];
                for (var i = 0; i < halves.Length; i++)
                {
                    result[i] = (float)BitConverter.UInt16BitsToHalf(halves[i].value);
                }
                return result;
            default:
                throw new NotSupportedException($"tensor element type {info.ElementDataType} is not a float type");
        }
    }

    /// <summary>The shape of a tensor value.</summary>
    public static long[] Shape(OrtValue value) => value.GetTensorTypeAndShape().Shape;
}
