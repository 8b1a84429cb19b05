using static Seg.Pipeline.TinyModel.TinyLayers;

namespace Seg.Pipeline.TinyModel;

/// <summary>
/// Hugging Face CLIPTextModel (CLIP-L in miniature) and CLIPTextModelWithProjection (OpenCLIP-G in
/// miniature): token + position embeddings, pre-LN causal transformer layers, final layer norm, pooling at
/// the argmax token id (the EOS token), hidden_states.0 .. hidden_states.L as Optimum exports them.
/// </summary>
internal static class TinyTextEncoderGraphs
{
    public const int VocabSize = 49408;
    public const int MaxPositions = 77;
    public const int Layers = 2;
    public const int Heads = 2;

    /// <summary>text_encoder: outputs last_hidden_state, pooler_output, hidden_states.0..2.</summary>
    public static void BuildClipL(OnnxGraphBuilder b, int width)
    {
        var ids = b.Input("input_ids", OnnxGraphBuilder.Int64, "batch_size", "sequence_length");
        var (last, pooled, hidden) = TextTransformer(b, ids, width, quickGelu: true);
        var f = b.FloatType;
        b.Output(last, "last_hidden_state", f, "batch_size", "sequence_length", width);
        b.Output(pooled, "pooler_output", f, "batch_size", width);
        AddHiddenStateOutputs(b, hidden, width);
    }

    /// <summary>text_encoder_2: outputs text_embeds, last_hidden_state, hidden_states.0..2 (projection width = hidden width).</summary>
    public static void BuildClipG(OnnxGraphBuilder b, int width)
    {
        var projectionDim = width;
        var ids = b.Input("input_ids", OnnxGraphBuilder.Int64, "batch_size", "sequence_length");
        var (last, pooled, hidden) = TextTransformer(b, ids, width, quickGelu: false);
        var textEmbeds = Linear(b, "text_projection", pooled, width, projectionDim, bias: false);
        var f = b.FloatType;
        b.Output(textEmbeds, "text_embeds", f, "batch_size", projectionDim);
        b.Output(last, "last_hidden_state", f, "batch_size", "sequence_length", width);
        AddHiddenStateOutputs(b, hidden, width);
    }

    private static void AddHiddenStateOutputs(OnnxGraphBuilder b, IReadOnlyList<string> hidden, int channels)
    {
        for (var i = 0; i < hidden.Count; i++)
        {
            b.Output(hidden[i], $"hidden_states.{i}", b.FloatType, "batch_size", "sequence_length", channels);
        }
    }

    private static (string Last, string Pooled, List<string> Hidden) TextTransformer(OnnxGraphBuilder b, string ids, int channels, bool quickGelu)
    {
        using var textModel = b.Scope("text_model");
        var sequenceLength = b.Op("Shape", [ids], OnnxGraphBuilder.Attr("start", 1L), OnnxGraphBuilder.Attr("end", 2L));

        string h;
        using (b.Scope("embeddings"))
        {
            string tokens;
            using (b.Scope("token_embedding"))
            {
                // Unit-scale embeddings keep the hidden states near unit magnitude, as real CLIP hidden states are,
                // so the UNet's cross-attention sees the prompt.
                tokens = b.Op("Gather", b.Parameter("weight", [VocabSize, channels], 1f), ids);
            }
            string positions;
            using (b.Scope("position_embedding"))
            {
                var table = b.Parameter("weight", [MaxPositions, channels], 0.5f);
                positions = b.Op("Slice", table, b.Int64s(0), sequenceLength, b.Int64s(0));
            }
            h = b.Op("Add", tokens, positions);
        }

        // Causal mask [S, S]: 0 on and below the diagonal, the dtype's lowest value above it (as transformers does).
        var lowest = b.Fp16 ? (float)Half.MinValue : float.MinValue;
        var mask = new float[MaxPositions * MaxPositions];
        for (var row = 0; row < MaxPositions; row++)
        {
            for (var column = row + 1; column < MaxPositions; column++)
            {
                mask[(row * MaxPositions) + column] = lowest;
            }
        }
        var fullMask = b.FloatConstant([MaxPositions, MaxPositions], mask);
        var zeroZero = b.Int64s(0, 0);
        var causalMask = b.Op("Slice", fullMask, zeroZero, b.Op("Concat", [sequenceLength, sequenceLength], OnnxGraphBuilder.Attr("axis", 0L)), b.Int64s(0, 1));

        var hidden = new List<string> { h };
        using (b.Scope("encoder"))
        {
            for (var i = 0; i < Layers; i++)
            {
                h = EncoderLayer(b, $"layers.{i}", h, causalMask, channels, quickGelu);
                hidden.Add(h);
            }
        }
        var last = LayerNorm(b, "final_layer_norm", h, channels);

        // Pooled output at input_ids.to(int).argmax(-1): the first EOS (49407 is the largest id).
        var eos = b.Op("ArgMax", [b.Op("Cast", [ids], OnnxGraphBuilder.Attr("to", (long)OnnxGraphBuilder.Int32))],
            OnnxGraphBuilder.Attr("axis", -1L), OnnxGraphBuilder.Attr("keepdims", 1L));
        var pooled = b.Op("GatherND", [last, eos], OnnxGraphBuilder.Attr("batch_dims", 1L));
        return (last, pooled, hidden);
    }

    private static string EncoderLayer(OnnxGraphBuilder b, string module, string x, string causalMask, int channels, bool quickGelu)
    {
        using var scope = b.Scope(module);
        var h = b.Op("Add", x, SelfAttention(b, "self_attn", LayerNorm(b, "layer_norm1", x, channels), causalMask, channels));
        string mlp;
        using (b.Scope("mlp"))
        {
            var inner = Linear(b, "fc1", LayerNorm(b, "layer_norm2", h, channels), channels, channels * 4);
            using (b.Scope("activation_fn"))
            {
                inner = quickGelu ? QuickGelu(b, inner) : Gelu(b, inner);
            }
            mlp = Linear(b, "fc2", inner, channels * 4, channels, gain: 0.7f);
        }
        return b.Op("Add", h, mlp);
    }

    private static string SelfAttention(OnnxGraphBuilder b, string module, string x, string causalMask, int channels)
    {
        using var scope = b.Scope(module);
        var headDim = channels / Heads;
        var q = b.Op("Mul", Linear(b, "q_proj", x, channels, channels), b.Scalar(1f / MathF.Sqrt(headDim)));
        var k = Linear(b, "k_proj", x, channels, channels);
        var v = Linear(b, "v_proj", x, channels, channels);
        var scores = b.Op("MatMul", SplitHeads(b, q, Heads, headDim), SplitHeads(b, k, Heads, headDim, keyTransposed: true));
        var probabilities = b.Op("Softmax", [b.Op("Add", scores, causalMask)], OnnxGraphBuilder.Attr("axis", -1L));
        var attended = MergeHeads(b, b.Op("MatMul", probabilities, SplitHeads(b, v, Heads, headDim)), channels);
        return Linear(b, "out_proj", attended, channels, channels, gain: 0.7f);
    }
}
