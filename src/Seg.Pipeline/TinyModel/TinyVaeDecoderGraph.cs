using static Seg.Pipeline.TinyModel.TinyLayers;

namespace Seg.Pipeline.TinyModel;

/// <summary>
/// AutoencoderKL's decode path in miniature: post_quant_conv, decoder.conv_in, a mid block of two resnets
/// (mid_block_add_attention false), four up blocks of one resnet each with three nearest-2x upsamplers
/// (channels 32, 32, 16, 16), conv_norm_out, SiLU, conv_out to RGB.
/// </summary>
internal static class TinyVaeDecoderGraph
{
    public const int LatentChannels = 4;
    public const int Groups = 8;
    public static readonly int[] UpChannels = [32, 32, 16, 16];
    private const float Eps = 1e-6f;

    public static void Build(OnnxGraphBuilder b)
    {
        var f = b.FloatType;
        var latent = b.Input("latent_sample", f, "batch_size", LatentChannels, "latent_height", "latent_width");
        var h = Conv(b, "post_quant_conv", latent, LatentChannels, LatentChannels, 1);
        using (b.Scope("decoder"))
        {
            var channels = UpChannels[0];
            h = Conv(b, "conv_in", h, LatentChannels, channels, 3);
            using (b.Scope("mid_block"))
            {
                h = Resnet(b, "resnets.0", h, channels, channels);
                h = Resnet(b, "resnets.1", h, channels, channels);
            }
            for (var i = 0; i < UpChannels.Length; i++)
            {
                using var block = b.Scope($"up_blocks.{i}");
                h = Resnet(b, "resnets.0", h, channels, UpChannels[i]);
                channels = UpChannels[i];
                if (i < UpChannels.Length - 1)
                {
                    using var upsampler = b.Scope("upsamplers.0");
                    var resized = b.Op("Resize", [h, string.Empty, b.FloatConstant([4], [1f, 1f, 2f, 2f], OnnxGraphBuilder.Float32)],
                        OnnxGraphBuilder.Attr("coordinate_transformation_mode", "asymmetric"),
                        OnnxGraphBuilder.Attr("mode", "nearest"),
                        OnnxGraphBuilder.Attr("nearest_mode", "floor"));
                    h = Conv(b, "conv", resized, channels, channels, 3);
                }
            }
            h = GroupNorm(b, "conv_norm_out", h, channels, Groups, Eps);
            h = SiLU(b, "conv_act", h);
            // Output gain chosen so a random latent decodes to values mostly inside [-1, 1].
            h = Conv(b, "conv_out", h, channels, 3, 3, gain: 0.6f);
        }
        b.Output(h, "sample", f, "batch_size", 3, "height", "width");
    }

    private static string Resnet(OnnxGraphBuilder b, string module, string x, int inChannels, int outChannels)
    {
        using var scope = b.Scope(module);
        var h = GroupNorm(b, "norm1", x, inChannels, Groups, Eps);
        h = SiLU(b, "nonlinearity", h);
        h = Conv(b, "conv1", h, inChannels, outChannels, 3);
        h = GroupNorm(b, "norm2", h, outChannels, Groups, Eps);
        h = SiLU(b, "nonlinearity", h);
        h = Conv(b, "conv2", h, outChannels, outChannels, 3, gain: 0.7f);
        var shortcut = inChannels == outChannels ? x : Conv(b, "conv_shortcut", x, inChannels, outChannels, 1);
        return b.Op("Add", shortcut, h);
    }
}
