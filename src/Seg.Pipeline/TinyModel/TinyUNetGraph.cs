using static Seg.Pipeline.TinyModel.TinyLayers;

namespace Seg.Pipeline.TinyModel;

/// <summary>
/// diffusers' SDXL <c>UNet2DConditionModel</c> built from a <see cref="ModelArchitecture"/>: down blocks
/// (DownBlock2D, CrossAttnDownBlock2D...), a cross-attention mid block, the mirrored up blocks, and the text_time
/// added embedding, with the exporter's node names. <see cref="ModelArchitecture.Tiny"/> is the miniature the tests
/// use; <see cref="ModelArchitecture.Sdxl"/> has SDXL base's sizes.
/// </summary>
internal sealed class TinyUNetGraph(ModelArchitecture architecture)
{
    public const int LatentChannels = 4;
    public const int TimeIdCount = 6;

    private int[] BlockOutChannels => architecture.BlockOutChannels;

    private int[] DownTransformerDepth => architecture.DownTransformerDepth;

    private int MidTransformerDepth => architecture.MidTransformerDepth;

    private int[] UpTransformerDepth => architecture.UpTransformerDepth;

    private int LayersPerBlock => architecture.LayersPerBlock;

    private int CrossAttentionDim => architecture.CrossAttentionDim;

    private int PooledDim => architecture.PooledDim;

    private int AdditionTimeEmbedDim => architecture.AdditionTimeEmbedDim;

    private int TimeEmbedDim => architecture.TimeEmbedDim;

    private int Groups => architecture.Groups;

    private int HeadDim => architecture.HeadDim;

    private int FeedForwardMult => architecture.FeedForwardMult;

    /// <summary>
    /// Multiplier of to_q and to_k over a unit-variance init. Attention logits then have a standard deviation
    /// near QueryKeyGain^2, so each query attends to a few keys; with near-uniform attention SEG's query blur
    /// would change nothing.
    /// </summary>
    public const float QueryKeyGain = 2.5f;

    private const float ResnetEps = 1e-5f;
    private const float TransformerGroupNormEps = 1e-6f;

    public void Build(OnnxGraphBuilder b, TimestepForm timestepForm)
    {
        var f = b.FloatType;
        var sample = b.Input("sample", f, "batch_size", LatentChannels, "height", "width");
        var timestep = timestepForm switch
        {
            TimestepForm.FloatVector => b.Input("timestep", f, "steps"),
            TimestepForm.Int64Vector => b.Input("timestep", OnnxGraphBuilder.Int64, "steps"),
            TimestepForm.FloatScalar => b.Input("timestep", f),
            _ => throw new ArgumentOutOfRangeException(nameof(timestepForm), timestepForm, "unknown timestep form"),
        };
        var context = b.Input("encoder_hidden_states", f, "batch_size", "sequence_length", CrossAttentionDim);
        var textEmbeds = b.Input("text_embeds", f, "batch_size", PooledDim);
        var timeIds = b.Input("time_ids", f, "batch_size", TimeIdCount);

        // timesteps.expand(sample.shape[0]): every form becomes [B].
        var batch = b.Op("Shape", [sample], OnnxGraphBuilder.Attr("start", 0L), OnnxGraphBuilder.Attr("end", 1L));
        var timesteps = b.Op("Expand", timestep, batch);

        string tEmb;
        using (b.Scope("time_proj"))
        {
            tEmb = SinusoidalEmbedding(b, timesteps, BlockOutChannels[0]);
        }
        var emb = TimestepEmbedding(b, "time_embedding", tEmb, BlockOutChannels[0]);

        // SDXL's "text_time" added condition: sinusoids of the 6 time ids, concatenated after text_embeds.
        string timeEmbeds;
        using (b.Scope("add_time_proj"))
        {
            timeEmbeds = SinusoidalEmbedding(b, b.Op("Reshape", timeIds, b.Int64s(-1)), AdditionTimeEmbedDim);
        }
        timeEmbeds = b.Op("Reshape", timeEmbeds, b.Int64s(-1, TimeIdCount * AdditionTimeEmbedDim));
        var addEmbeds = b.Op("Concat", [textEmbeds, timeEmbeds], OnnxGraphBuilder.Attr("axis", -1L));
        var augEmb = TimestepEmbedding(b, "add_embedding", addEmbeds, PooledDim + (TimeIdCount * AdditionTimeEmbedDim));
        emb = b.Op("Add", emb, augEmb);

        var h = Conv(b, "conv_in", sample, LatentChannels, BlockOutChannels[0], 3);

        // Down path; the skip list is diffusers' down_block_res_samples.
        var skips = new List<(string Tensor, int Channels)> { (h, BlockOutChannels[0]) };
        var channels = BlockOutChannels[0];
        for (var i = 0; i < BlockOutChannels.Length; i++)
        {
            using var block = b.Scope($"down_blocks.{i}");
            var outChannels = BlockOutChannels[i];
            for (var j = 0; j < LayersPerBlock; j++)
            {
                h = Resnet(b, $"resnets.{j}", h, emb, channels, outChannels);
                channels = outChannels;
                if (DownTransformerDepth[i] > 0)
                {
                    h = Transformer2D(b, $"attentions.{j}", h, context, channels, DownTransformerDepth[i]);
                }
                skips.Add((h, channels));
            }
            if (i < BlockOutChannels.Length - 1)
            {
                using (b.Scope("downsamplers.0"))
                {
                    h = Conv(b, "conv", h, channels, channels, 3, stride: 2);
                }
                skips.Add((h, channels));
            }
        }

        using (b.Scope("mid_block"))
        {
            h = Resnet(b, "resnets.0", h, emb, channels, channels);
            h = Transformer2D(b, "attentions.0", h, context, channels, MidTransformerDepth);
            h = Resnet(b, "resnets.1", h, emb, channels, channels);
        }

        var reversed = BlockOutChannels.Reverse().ToArray();
        for (var i = 0; i < reversed.Length; i++)
        {
            using var block = b.Scope($"up_blocks.{i}");
            var outChannels = reversed[i];
            for (var j = 0; j < LayersPerBlock + 1; j++)
            {
                var (skip, skipChannels) = skips[^1];
                skips.RemoveAt(skips.Count - 1);
                h = b.Op("Concat", [h, skip], OnnxGraphBuilder.Attr("axis", 1L));
                h = Resnet(b, $"resnets.{j}", h, emb, channels + skipChannels, outChannels);
                channels = outChannels;
                if (UpTransformerDepth[i] > 0)
                {
                    h = Transformer2D(b, $"attentions.{j}", h, context, channels, UpTransformerDepth[i]);
                }
            }
            if (i < reversed.Length - 1)
            {
                // forward_upsample_size: resize to the size of the skip this output meets next, so odd sizes work.
                h = Upsample(b, "upsamplers.0", h, skips[^1].Tensor, channels);
            }
        }

        h = GroupNorm(b, "conv_norm_out", h, channels, Groups, ResnetEps);
        h = SiLU(b, "conv_act", h);
        // A small output gain gives out_sample the spread of a noise prediction (std near 1).
        h = Conv(b, "conv_out", h, channels, LatentChannels, 3, gain: 1.5f);
        b.Output(h, "out_sample", f, "batch_size", LatentChannels, "height", "width");
    }

    /// <summary>diffusers' get_timestep_embedding (flip_sin_to_cos, freq_shift 0), computed in float32 as diffusers does.</summary>
    private static string SinusoidalEmbedding(OnnxGraphBuilder b, string timesteps, int dim)
    {
        var half = dim / 2;
        var frequencies = new float[half];
        for (var i = 0; i < half; i++)
        {
            frequencies[i] = (float)Math.Exp(-Math.Log(10000.0) * i / half);
        }
        var t = b.Op("Cast", [timesteps], OnnxGraphBuilder.Attr("to", (long)OnnxGraphBuilder.Float32));
        var column = b.Op("Unsqueeze", t, b.Int64s(1));
        var args = b.Op("Mul", column, b.FloatConstant([half], frequencies, OnnxGraphBuilder.Float32));
        var emb = b.Op("Concat", [b.Op("Cos", args), b.Op("Sin", args)], OnnxGraphBuilder.Attr("axis", -1L));
        return b.Fp16 ? b.Op("Cast", [emb], OnnxGraphBuilder.Attr("to", (long)OnnxGraphBuilder.Float16)) : emb;
    }

    private string TimestepEmbedding(OnnxGraphBuilder b, string module, string x, int inFeatures)
    {
        using var scope = b.Scope(module);
        var h = Gemm(b, "linear_1", x, inFeatures, TimeEmbedDim);
        h = SiLU(b, "act", h);
        return Gemm(b, "linear_2", h, TimeEmbedDim, TimeEmbedDim);
    }

    private string Resnet(OnnxGraphBuilder b, string module, string x, string emb, int inChannels, int outChannels)
    {
        using var scope = b.Scope(module);
        var h = GroupNorm(b, "norm1", x, inChannels, Groups, ResnetEps);
        h = SiLU(b, "nonlinearity", h);
        h = Conv(b, "conv1", h, inChannels, outChannels, 3);
        var t = Gemm(b, "time_emb_proj", SiLU(b, "nonlinearity", emb), TimeEmbedDim, outChannels);
        h = b.Op("Add", h, b.Op("Unsqueeze", t, b.Int64s(2, 3)));
        h = GroupNorm(b, "norm2", h, outChannels, Groups, ResnetEps);
        h = SiLU(b, "nonlinearity", h);
        h = Conv(b, "conv2", h, outChannels, outChannels, 3, gain: 0.7f);
        var shortcut = inChannels == outChannels ? x : Conv(b, "conv_shortcut", x, inChannels, outChannels, 1);
        return b.Op("Add", shortcut, h);
    }

    private static string Upsample(OnnxGraphBuilder b, string module, string x, string sizeOf, int channels)
    {
        using var scope = b.Scope(module);
        var batchAndChannels = b.Op("Shape", [x], OnnxGraphBuilder.Attr("start", 0L), OnnxGraphBuilder.Attr("end", 2L));
        var spatial = b.Op("Shape", [sizeOf], OnnxGraphBuilder.Attr("start", 2L), OnnxGraphBuilder.Attr("end", 4L));
        var sizes = b.Op("Concat", [batchAndChannels, spatial], OnnxGraphBuilder.Attr("axis", 0L));
        var resized = b.Op("Resize", [x, string.Empty, string.Empty, sizes],
            OnnxGraphBuilder.Attr("coordinate_transformation_mode", "asymmetric"),
            OnnxGraphBuilder.Attr("mode", "nearest"),
            OnnxGraphBuilder.Attr("nearest_mode", "floor"));
        return Conv(b, "conv", resized, channels, channels, 3);
    }

    /// <summary>Transformer2DModel with use_linear_projection (as SDXL): norm, proj_in, blocks, proj_out, residual.</summary>
    private string Transformer2D(OnnxGraphBuilder b, string module, string x, string context, int channels, int depth)
    {
        using var scope = b.Scope(module);
        var h = GroupNorm(b, "norm", x, channels, Groups, TransformerGroupNormEps);
        var channelsLast = b.Op("Transpose", [h], OnnxGraphBuilder.Attr("perm", 0L, 2L, 3L, 1L));
        var gridShape = b.Op("Shape", channelsLast);
        // [B, H*W, C]: tokens in row-major order of the grid.
        h = b.Op("Reshape", channelsLast, b.Int64s(0, -1, channels));
        h = Linear(b, "proj_in", h, channels, channels);
        for (var i = 0; i < depth; i++)
        {
            h = TransformerBlock(b, $"transformer_blocks.{i}", h, context, channels);
        }
        h = Linear(b, "proj_out", h, channels, channels, gain: 0.7f);
        h = b.Op("Reshape", h, gridShape);
        h = b.Op("Transpose", [h], OnnxGraphBuilder.Attr("perm", 0L, 3L, 1L, 2L));
        return b.Op("Add", h, x);
    }

    private string TransformerBlock(OnnxGraphBuilder b, string module, string x, string context, int channels)
    {
        using var scope = b.Scope(module);
        var h = x;
        h = b.Op("Add", Attention(b, "attn1", LayerNorm(b, "norm1", h, channels), null, channels, channels), h);
        h = b.Op("Add", Attention(b, "attn2", LayerNorm(b, "norm2", h, channels), context, channels, CrossAttentionDim), h);
        h = b.Op("Add", FeedForward(b, "ff", LayerNorm(b, "norm3", h, channels), channels), h);
        return h;
    }

    /// <summary>
    /// diffusers Attention: bias-free to_q/to_k/to_v MatMuls on [B, N, C], heads, softmax(QK^T * scale) V, to_out.0.
    /// The to_q MatMul output feeds the head reshape directly: the SEG patch inserts its blur right there.
    /// </summary>
    private string Attention(OnnxGraphBuilder b, string module, string x, string? context, int channels, int contextChannels)
    {
        using var scope = b.Scope(module);
        var heads = channels / HeadDim;
        var selfAttention = context is null;
        var keySource = context ?? x;
        // Self-attention gets the sharp q/k; cross-attention keeps a moderate gain so the prompt still matters.
        var qkGain = selfAttention ? QueryKeyGain : 1.5f;
        var q = Linear(b, "to_q", x, channels, channels, bias: false, gain: qkGain);
        var k = Linear(b, "to_k", keySource, contextChannels, channels, bias: false, gain: qkGain);
        var v = Linear(b, "to_v", keySource, contextChannels, channels, bias: false);
        var qHeads = SplitHeads(b, q, heads, HeadDim);
        var kHeadsT = SplitHeads(b, k, heads, HeadDim, keyTransposed: true);
        var vHeads = SplitHeads(b, v, heads, HeadDim);
        var scores = b.Op("Mul", b.Op("MatMul", qHeads, kHeadsT), b.Scalar(1f / MathF.Sqrt(HeadDim)));
        var probabilities = b.Op("Softmax", [scores], OnnxGraphBuilder.Attr("axis", -1L));
        var attended = MergeHeads(b, b.Op("MatMul", probabilities, vHeads), channels);
        return Linear(b, "to_out.0", attended, channels, channels, gain: 0.7f);
    }

    /// <summary>FeedForward with GEGLU: net.0.proj to 2 x inner, value * gelu(gate), net.2 back to C.</summary>
    private string FeedForward(OnnxGraphBuilder b, string module, string x, int channels)
    {
        using var scope = b.Scope(module);
        var inner = channels * FeedForwardMult;
        string gated;
        using (b.Scope("net.0"))
        {
            var projected = Linear(b, "proj", x, channels, inner * 2);
            var halves = b.Node("Split", [projected, b.Int64s(inner, inner)], 2, OnnxGraphBuilder.Attr("axis", -1L));
            gated = b.Op("Mul", halves[0], Gelu(b, halves[1]));
        }
        return Linear(b, "net.2", gated, inner, channels, gain: 0.7f);
    }
}
