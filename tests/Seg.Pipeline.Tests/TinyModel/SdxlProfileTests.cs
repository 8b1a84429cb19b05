using System.Text.Json.Nodes;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.TinyModel;

namespace Seg.Pipeline.Tests.TinyModel;

/// <summary>
/// The SDXL benchmark profile's structure, checked on <see cref="ModelProfile.SdxlMini"/> (the same builder and the
/// same depths, blocks and head counts at 1/16 width; the full profile writes about 10 GB and is for benchmarks only).
/// </summary>
[Collection(Seg.Pipeline.Tests.TinyModelCollection.Name)]
public class SdxlProfileTests(Seg.Pipeline.Tests.TinyModelFixture models)
{
    private string Folder => models.Get(new TinyModelOptions(Profile: ModelProfile.SdxlMini));

    [Fact]
    public void The_unet_has_sdxls_attn1_layers_with_the_exporters_names()
    {
        var graph = OnnxModelFile.Load(Path.Combine(Folder, "unet", "model.onnx")).Graph;
        var toQ = graph.Node.Where(n => n.OpType == "MatMul" && SegLayerSelection.IsAttn1ToQName(n.Name)).Select(n => n.Name).ToList();
        var layers = SegLayerSelection.EnumerateLayers(toQ);
        // DESIGN.md: SDXL has 24 down, 10 mid and 36 up attn1 modules.
        Assert.Equal(24, layers.Count(l => l.Group == SegLayerGroup.Down));
        Assert.Equal(10, layers.Count(l => l.Group == SegLayerGroup.Mid));
        Assert.Equal(36, layers.Count(l => l.Group == SegLayerGroup.Up));
        Assert.Contains("/mid_block/attentions.0/transformer_blocks.9/attn1/to_q/MatMul", toQ);
        Assert.Contains("/down_blocks.2/attentions.1/transformer_blocks.9/attn1/to_q/MatMul", toQ);
        Assert.Contains("/up_blocks.0/attentions.2/transformer_blocks.9/attn1/to_q/MatMul", toQ);
        Assert.DoesNotContain(toQ, n => n.StartsWith("/down_blocks.0/", StringComparison.Ordinal) || n.StartsWith("/up_blocks.2/", StringComparison.Ordinal));
        // Two resnets per down block, three per up block (layers_per_block 2).
        Assert.Contains(graph.Node, n => n.Name.StartsWith("/down_blocks.0/resnets.1/", StringComparison.Ordinal));
        Assert.DoesNotContain(graph.Node, n => n.Name.StartsWith("/down_blocks.0/resnets.2/", StringComparison.Ordinal));
        Assert.Contains(graph.Node, n => n.Name.StartsWith("/up_blocks.2/resnets.2/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_full_profile_has_sdxl_base_sizes_and_the_mini_one_divides_every_width_by_16()
    {
        var sdxl = ModelArchitecture.Sdxl;
        Assert.Equal([320, 640, 1280], sdxl.BlockOutChannels);
        Assert.Equal([0, 2, 10], sdxl.DownTransformerDepth);
        Assert.Equal(10, sdxl.MidTransformerDepth);
        Assert.Equal(64, sdxl.HeadDim);
        Assert.Equal(2048, sdxl.CrossAttentionDim);
        Assert.Equal(2816, sdxl.PooledDim + (6 * sdxl.AdditionTimeEmbedDim));
        Assert.Equal(2, sdxl.LayersPerBlock);

        var mini = ModelArchitecture.SdxlMini;
        Assert.Equal(sdxl.BlockOutChannels.Select(c => c / 16), mini.BlockOutChannels);
        Assert.Equal(sdxl.BlockOutChannels.Select(c => c / sdxl.HeadDim), mini.BlockOutChannels.Select(c => c / mini.HeadDim));
        Assert.Equal(sdxl.CrossAttentionDim / 16, mini.CrossAttentionDim);
        Assert.Equal((sdxl with { SampleSize = 0 }).DownTransformerDepth, mini.DownTransformerDepth);
        Assert.Equal(sdxl.UpTransformerDepth, mini.UpTransformerDepth);
        Assert.Equal(sdxl.MidTransformerDepth, mini.MidTransformerDepth);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "unet", "config.json")))!;
        Assert.Equal("[5,10,20]", config["attention_head_dim"]!.ToJsonString());
        Assert.Equal("[1,2,10]", config["transformer_layers_per_block"]!.ToJsonString());
        Assert.Equal(2, (int)config["layers_per_block"]!);
        Assert.Equal(mini.CrossAttentionDim, (int)config["cross_attention_dim"]!);
    }

    [Fact]
    public void It_renders_and_the_forked_patch_equals_the_batched_one_on_it()
    {
        var request = new RenderRequest { Prompt = "a lighthouse", Seed = 2, Steps = 2, Width = 64, Height = 64, SegBlurSigmas = [3.0] };
        using var batched = SdxlPipeline.Load(Folder, new PipelineOptions { PatchCacheFolder = models.PatchCache, SegPatchMode = SegPatchMode.Batched });
        using var forked = SdxlPipeline.Load(Folder, new PipelineOptions { PatchCacheFolder = models.PatchCache, SegPatchMode = SegPatchMode.Forked });
        var expected = batched.Render(request).FinalLatents;
        var actual = forked.Render(request).FinalLatents;
        Assert.All(actual, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5f);
    }
}
