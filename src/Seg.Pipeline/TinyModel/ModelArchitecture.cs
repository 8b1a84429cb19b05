namespace Seg.Pipeline.TinyModel;

/// <summary>Which architecture <see cref="TinySdxlModelWriter"/> writes.</summary>
public enum ModelProfile
{
    /// <summary>The miniature SDXL the tests and the demo use (about 10 MB of UNet weights).</summary>
    Tiny,

    /// <summary>
    /// SDXL base's UNet sizes (2.6 B parameters, about 10 GB in fp32) with random weights, for benchmarks only;
    /// small text encoders with SDXL's output sizes.
    /// </summary>
    Sdxl,

    /// <summary>SDXL's structure (depths, blocks, head counts, node names) with every width divided by 16, for tests.</summary>
    SdxlMini,
}

/// <summary>The sizes of a generated model: the UNet's blocks and widths, and the text encoders' output widths.</summary>
/// <param name="BlockOutChannels">Channels of each down block (the up blocks mirror them).</param>
/// <param name="DownTransformerDepth">Transformer blocks per attention of each down block (0: a DownBlock2D).</param>
/// <param name="MidTransformerDepth">Transformer blocks of the mid block's attention.</param>
/// <param name="UpTransformerDepth">Transformer blocks per attention of each up block (0: an UpBlock2D).</param>
/// <param name="LayersPerBlock">Resnets per down block (up blocks have one more).</param>
/// <param name="HeadDim">Channels per attention head.</param>
/// <param name="AdditionTimeEmbedDim">Sinusoid width of each of the six time ids.</param>
/// <param name="TimeEmbedDim">Width of the time embedding.</param>
/// <param name="Groups">GroupNorm groups.</param>
/// <param name="FeedForwardMult">GEGLU inner width over channels.</param>
/// <param name="ClipLHidden">Hidden width of text_encoder.</param>
/// <param name="ClipGHidden">Hidden width of text_encoder_2 (and of its pooled projection).</param>
/// <param name="SampleSize">The UNet config's sample_size (default image size / 8).</param>
internal sealed record ModelArchitecture(
    int[] BlockOutChannels,
    int[] DownTransformerDepth,
    int MidTransformerDepth,
    int[] UpTransformerDepth,
    int LayersPerBlock,
    int HeadDim,
    int AdditionTimeEmbedDim,
    int TimeEmbedDim,
    int Groups,
    int FeedForwardMult,
    int ClipLHidden,
    int ClipGHidden,
    int SampleSize)
{
    /// <summary>
    /// The tests' miniature: block_out_channels (32, 64, 64), one resnet per down block, transformer depths (-, 1, 2)
    /// down, 2 in the middle, (2, 1, -) up. GEGLU width 2 (diffusers: 4) keeps the fp32 folder under 30 MiB, since
    /// the text encoders' real-size vocabularies (49408 rows) already take about 19.6 MB. Native size 256x256.
    /// </summary>
    public static ModelArchitecture Tiny { get; } = new([32, 64, 64], [0, 1, 2], 2, [2, 1, 0], 1, 32, 8, 128, 8, 2, 32, 64, 32);

    /// <summary>SDXL base (DESIGN.md section 7): (320, 640, 1280), depths (0, 2, 10), mid 10, heads of 64, 2048 cross, 2816 text_time.</summary>
    public static ModelArchitecture Sdxl { get; } = new([320, 640, 1280], [0, 2, 10], 10, [10, 2, 0], 2, 64, 256, 1280, 32, 4, 768, 1280, 128);

    /// <summary>SDXL with every width divided by 16: the same head counts, depths, blocks and node names.</summary>
    public static ModelArchitecture SdxlMini { get; } = new([20, 40, 80], [0, 2, 10], 10, [10, 2, 0], 2, 4, 16, 80, 4, 4, 48, 80, 32);

    /// <summary>Features per token of encoder_hidden_states: both encoders' hidden states side by side.</summary>
    public int CrossAttentionDim => ClipLHidden + ClipGHidden;

    /// <summary>Features of the pooled embedding (text_embeds).</summary>
    public int PooledDim => ClipGHidden;

    /// <summary>The architecture of a profile.</summary>
    public static ModelArchitecture For(ModelProfile profile) => profile switch
    {
        ModelProfile.Tiny => Tiny,
        ModelProfile.Sdxl => Sdxl,
        ModelProfile.SdxlMini => SdxlMini,
        _ => throw new ArgumentOutOfRangeException(nameof(profile), profile, "unknown model profile"),
    };
}
