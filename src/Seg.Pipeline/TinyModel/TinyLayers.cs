namespace Seg.Pipeline.TinyModel;

/// <summary>
/// The PyTorch modules the tiny graphs are made of, emitted as the exporter emits them at opset 17
/// (GroupNorm as Reshape/InstanceNormalization/Reshape/Mul/Add, SiLU as Sigmoid*x, GELU with Erf).
/// Each method builds inside the caller's current scope.
/// </summary>
internal static class TinyLayers
{
    private const float BiasStd = 0.05f;
    private const float NormJitter = 0.05f;

    /// <summary><c>nn.Linear</c> on a [.., in] tensor: MatMul with an [in, out] weight, then Add of the bias.</summary>
    public static string Linear(OnnxGraphBuilder b, string module, string x, int inFeatures, int outFeatures, bool bias = true, float gain = 1f)
    {
        using var scope = b.Scope(module);
        var weight = b.Parameter("weight", [inFeatures, outFeatures], gain / MathF.Sqrt(inFeatures));
        var y = b.Op("MatMul", x, weight);
        return bias ? b.Op("Add", b.Parameter("bias", [outFeatures], BiasStd), y) : y;
    }

    /// <summary><c>nn.Linear</c> on a 2-D tensor, exported as Gemm with a transposed [out, in] weight.</summary>
    public static string Gemm(OnnxGraphBuilder b, string module, string x, int inFeatures, int outFeatures, float gain = 1f)
    {
        using var scope = b.Scope(module);
        var weight = b.Parameter("weight", [outFeatures, inFeatures], gain / MathF.Sqrt(inFeatures));
        var bias = b.Parameter("bias", [outFeatures], BiasStd);
        return b.Op("Gemm", [x, weight, bias],
            OnnxGraphBuilder.Attr("alpha", 1f), OnnxGraphBuilder.Attr("beta", 1f), OnnxGraphBuilder.Attr("transB", 1L));
    }

    /// <summary><c>nn.LayerNorm</c> over the last axis.</summary>
    public static string LayerNorm(OnnxGraphBuilder b, string module, string x, int channels, float epsilon = 1e-5f)
    {
        using var scope = b.Scope(module);
        var weight = b.Parameter("weight", [channels], NormJitter, mean: 1f);
        var bias = b.Parameter("bias", [channels], NormJitter);
        return b.Op("LayerNormalization", [x, weight, bias],
            OnnxGraphBuilder.Attr("axis", -1L), OnnxGraphBuilder.Attr("epsilon", epsilon));
    }

    /// <summary><c>nn.GroupNorm</c> on [B, C, H, W], decomposed as the opset-17 exporter does.</summary>
    public static string GroupNorm(OnnxGraphBuilder b, string module, string x, int channels, int groups, float epsilon)
    {
        using var scope = b.Scope(module);
        var grouped = b.Op("Reshape", x, b.Int64s(0, groups, -1));
        var ones = b.FloatConstant([groups], Enumerable.Repeat(1f, groups).ToArray());
        var zeros = b.FloatConstant([groups], new float[groups]);
        var normed = b.Op("InstanceNormalization", [grouped, ones, zeros], OnnxGraphBuilder.Attr("epsilon", epsilon));
        var restored = b.Op("Reshape", normed, b.Op("Shape", x));
        var weight = b.Parameter("weight", [channels, 1, 1], NormJitter, mean: 1f);
        var bias = b.Parameter("bias", [channels, 1, 1], NormJitter);
        return b.Op("Add", b.Op("Mul", restored, weight), bias);
    }

    /// <summary><c>nn.Conv2d</c> with square kernel, bias, and symmetric padding.</summary>
    public static string Conv(OnnxGraphBuilder b, string module, string x, int inChannels, int outChannels, int kernel,
        int stride = 1, float gain = 1f)
    {
        using var scope = b.Scope(module);
        var pad = kernel / 2;
        var weight = b.Parameter("weight", [outChannels, inChannels, kernel, kernel],
            gain / MathF.Sqrt(inChannels * kernel * kernel));
        var bias = b.Parameter("bias", [outChannels], BiasStd);
        return b.Op("Conv", [x, weight, bias],
            OnnxGraphBuilder.Attr("dilations", 1L, 1L),
            OnnxGraphBuilder.Attr("group", 1L),
            OnnxGraphBuilder.Attr("kernel_shape", kernel, (long)kernel),
            OnnxGraphBuilder.Attr("pads", pad, pad, pad, (long)pad),
            OnnxGraphBuilder.Attr("strides", stride, (long)stride));
    }

    /// <summary>SiLU as exported: x * Sigmoid(x).</summary>
    public static string SiLU(OnnxGraphBuilder b, string module, string x)
    {
        using var scope = b.Scope(module);
        return b.Op("Mul", x, b.Op("Sigmoid", x));
    }

    /// <summary>Exact GELU as exported at opset 17: x * 0.5 * (1 + erf(x / sqrt 2)).</summary>
    public static string Gelu(OnnxGraphBuilder b, string x)
    {
        var erf = b.Op("Erf", b.Op("Div", x, b.Scalar(MathF.Sqrt(2f))));
        var onePlus = b.Op("Add", erf, b.Scalar(1f));
        return b.Op("Mul", b.Op("Mul", x, onePlus), b.Scalar(0.5f));
    }

    /// <summary>CLIP's quick_gelu: x * sigmoid(1.702 x).</summary>
    public static string QuickGelu(OnnxGraphBuilder b, string x) =>
        b.Op("Mul", x, b.Op("Sigmoid", b.Op("Mul", x, b.Scalar(1.702f))));

    /// <summary>Splits [B, N, C] into heads: [B, heads, N, C/heads] (or [B, heads, C/heads, N] when transposed for K).</summary>
    public static string SplitHeads(OnnxGraphBuilder b, string x, int heads, int headDim, bool keyTransposed = false)
    {
        var reshaped = b.Op("Reshape", x, b.Int64s(0, -1, heads, headDim));
        return keyTransposed
            ? b.Op("Transpose", [reshaped], OnnxGraphBuilder.Attr("perm", 0L, 2L, 3L, 1L))
            : b.Op("Transpose", [reshaped], OnnxGraphBuilder.Attr("perm", 0L, 2L, 1L, 3L));
    }

    /// <summary>Merges [B, heads, N, d] back to [B, N, heads*d].</summary>
    public static string MergeHeads(OnnxGraphBuilder b, string x, int channels)
    {
        var transposed = b.Op("Transpose", [x], OnnxGraphBuilder.Attr("perm", 0L, 2L, 1L, 3L));
        return b.Op("Reshape", transposed, b.Int64s(0, -1, channels));
    }
}
