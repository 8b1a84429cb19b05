using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.Tests.QueryBlur;

public class SegLayerSelectionTests
{
    private static readonly string[] s_names = SyntheticUNet.StandardAttn1;

    [Fact]
    public void Default_is_the_whole_mid_block()
    {
        Assert.Equal("mid", SegLayerSelection.Default.Canonical);
        var layers = SegLayerSelection.Default.Resolve(s_names);
        Assert.Equal([SyntheticUNet.ToQ("mid_block", 0, 0), SyntheticUNet.ToQ("mid_block", 0, 1)], layers.Select(l => l.ToQNodeName));
        Assert.Equal(["m0", "m1"], layers.Select(l => l.Label));
    }

    [Theory]
    [InlineData("down", new[] { "d0", "d1", "d2" })]
    [InlineData("up", new[] { "u0", "u1", "u2", "u3", "u4", "u5" })]
    [InlineData("mid,down", new[] { "d0", "d1", "d2", "m0", "m1" })]
    [InlineData("d0, M0", new[] { "d0", "m0" })]
    [InlineData("u5,d2,u0", new[] { "d2", "u0", "u5" })]
    public void Resolves_groups_and_indices_in_module_order(string text, string[] expected)
    {
        var layers = SegLayerSelection.Parse(text).Resolve(s_names);
        Assert.Equal(expected, layers.Select(l => l.Label));
    }

    [Fact]
    public void All_selects_every_attn1_layer()
    {
        Assert.Equal(s_names.Length, SegLayerSelection.Parse("all").Resolve(s_names).Count);
        Assert.Equal("all", SegLayerSelection.Parse("up,down,mid").Canonical);
    }

    [Fact]
    public void Indices_count_numerically_by_block_then_attention_then_transformer_block()
    {
        string[] names =
        [
            SyntheticUNet.ToQ("down_blocks.2", 1, 0),
            SyntheticUNet.ToQ("down_blocks.10", 0, 0),
            SyntheticUNet.ToQ("down_blocks.2", 0, 10),
            SyntheticUNet.ToQ("down_blocks.2", 0, 2),
            SyntheticUNet.ToQ("down_blocks.1", 0, 0),
        ];
        var layers = SegLayerSelection.Parse("down").Resolve(names);
        Assert.Equal(
            [names[4], names[3], names[2], names[0], names[1]],
            layers.Select(l => l.ToQNodeName));
        Assert.Equal(names[2], SegLayerSelection.Parse("d2").Resolve(names).Single().ToQNodeName);
    }

    [Fact]
    public void Sdxl_layout_counts_24_down_10_mid_36_up()
    {
        var names = new List<string>();
        foreach (var (block, attentions, depth) in new[] { ("down_blocks.1", 2, 2), ("down_blocks.2", 2, 10) })
        {
            names.AddRange(Enumerable.Range(0, attentions).SelectMany(a => Enumerable.Range(0, depth).Select(t => SyntheticUNet.ToQ(block, a, t))));
        }
        names.AddRange(Enumerable.Range(0, 10).Select(t => SyntheticUNet.ToQ("mid_block", 0, t)));
        foreach (var (block, depth) in new[] { ("up_blocks.0", 10), ("up_blocks.1", 2) })
        {
            names.AddRange(Enumerable.Range(0, 3).SelectMany(a => Enumerable.Range(0, depth).Select(t => SyntheticUNet.ToQ(block, a, t))));
        }

        var error = Assert.Throws<ArgumentException>(() => SegLayerSelection.Parse("u36").Resolve(names));
        Assert.StartsWith("seg_layers: u36 is out of range: this UNet has 24 down, 10 mid, 36 up attn1 layers", error.Message);
        // d4 = down_blocks.2 attentions.0 transformer_blocks.0 (down_blocks.1 holds d0..d3).
        Assert.Equal(SyntheticUNet.ToQ("down_blocks.2", 0, 0), SegLayerSelection.Parse("d4").Resolve(names).Single().ToQNodeName);
        Assert.Equal(SyntheticUNet.ToQ("up_blocks.1", 0, 0), SegLayerSelection.Parse("u30").Resolve(names).Single().ToQNodeName);
    }

    [Fact]
    public void Out_of_range_index_lists_what_exists()
    {
        var error = Assert.Throws<ArgumentException>(() => SegLayerSelection.Parse("u12").Resolve(s_names));
        Assert.StartsWith("seg_layers: u12 is out of range: this UNet has 3 down, 2 mid, 6 up attn1 layers", error.Message);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("middle")]
    [InlineData("d")]
    [InlineData("q3")]
    [InlineData("mid,d-1")]
    public void Unknown_group_is_rejected(string text)
    {
        var token = text.Split(',').Last();
        var error = Assert.Throws<FormatException>(() => SegLayerSelection.Parse(text));
        Assert.Equal($"seg_layers: unknown group '{token}'; use down, mid, up or d<i>/m<i>/u<i>", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    public void Empty_selection_is_rejected(string text)
    {
        var error = Assert.Throws<FormatException>(() => SegLayerSelection.Parse(text));
        Assert.StartsWith("seg_layers must select at least one layer", error.Message);
    }

    [Fact]
    public void Group_without_layers_in_this_unet_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => SegLayerSelection.Parse("down").Resolve([SyntheticUNet.ToQ("mid_block", 0, 0)]));
        Assert.StartsWith("seg_layers: 'down' selects no attn1 layer: this UNet has 0 down, 1 mid, 0 up attn1 layers", error.Message);
    }

    [Fact]
    public void Foreign_node_names_are_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => SegLayerSelection.Default.Resolve(["/mid_block/attentions.0/transformer_blocks.0/attn2/to_q/MatMul"]));
        Assert.Contains("is not an attn1 to_q MatMul node name", error.Message);
    }

    [Theory]
    [InlineData("mid", "mid")]
    [InlineData("MID", "mid")]
    [InlineData("up,mid,down", "all")]
    [InlineData("u12,d4,m0,d5", "d4,d5,m0,u12")]
    [InlineData("mid,m1,d3,mid", "mid,d3")]
    [InlineData("up,u3,d0", "up,d0")]
    public void Canonical_form_is_stable(string text, string canonical)
    {
        var selection = SegLayerSelection.Parse(text);
        Assert.Equal(canonical, selection.Canonical);
        Assert.Equal(selection, SegLayerSelection.Parse(canonical));
        Assert.Equal(canonical, SegLayerSelection.Parse(canonical).Canonical);
    }
}
