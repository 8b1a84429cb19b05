using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.Tests.QueryBlur;

/// <summary>What the forked patch records and inserts, and how it is cached beside the batched one.</summary>
[Collection(TinyModelCollection.Name)]
public class BatchForkPatchTests(TinyModelFixture models)
{
    private string UNetPath => Path.Combine(models.Fp32, "unet", "model.onnx");

    [Fact]
    public void The_fork_sits_at_the_first_blurred_attn1_and_is_recorded()
    {
        var model = OnnxModelFile.Load(UNetPath);
        var info = UNetSegPatcher.Patch(model, SegLayerSelection.Parse("u1,mid"), SegPatchMode.Forked);

        Assert.Equal(SegPatchMode.Forked, info.Mode);
        Assert.Equal(UNetSegPatcher.ForkRowsInputName, info.ForkRowsInput);
        // mid comes before the up blocks in the graph, so the fork is at the mid block's first attn1.
        Assert.Equal("/mid_block/attentions.0/transformer_blocks.0/norm1/LayerNormalization_output_0", info.ForkTensor);
        var recorded = UNetSegPatcher.ReadPatchInfo(model)!;
        Assert.Equal((info.Mode, info.ForkRowsInput, info.ForkTensor), (recorded.Mode, recorded.ForkRowsInput, recorded.ForkTensor));
        var graph = model.Graph;
        Assert.Contains(graph.Input, i => i.Name == UNetSegPatcher.ForkRowsInputName);
        Assert.Equal("seg_batch", graph.Output.Single(o => o.Name == "out_sample").Type.TensorType.Shape.Dim[0].DimParam);

        // The skip connections of the down path and the time embedding cross the fork: each is gathered once.
        var gathers = graph.Node.Where(n => n.Name.StartsWith("/seg_fork/gather/", StringComparison.Ordinal)).ToList();
        Assert.All(gathers, g => Assert.Equal(UNetSegPatcher.ForkRowsInputName, g.Input[1]));
        Assert.Equal(gathers.Count, gathers.Select(g => g.Input[0]).Distinct().Count());
        Assert.Contains(gathers, g => g.Input[0] == "encoder_hidden_states");
        Assert.Contains(gathers, g => g.Input[0].StartsWith("/down_blocks.0/", StringComparison.Ordinal));
        // After the edit, what the forked part reads from the shared part or the inputs depends on no batch-sized
        // input: constants only (everything else goes through a gather or is computed again).
        var shared = SharedPrefix.Nodes(graph, info.ForkTensor!);
        var producedByShared = shared.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var batchInputs = graph.Input.Select(i => i.Name).Where(n => !n.StartsWith("seg_", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var crossing = graph.Node.Where(n => !shared.Contains(n) && !n.Name.StartsWith("/seg_fork/", StringComparison.Ordinal))
            .SelectMany(n => n.Input).Where(t => producedByShared.Contains(t) || batchInputs.Contains(t)).Distinct().ToList();
        Assert.DoesNotContain(crossing, batchInputs.Contains);
        Assert.All(crossing, t => Assert.DoesNotContain(SharedPrefix.Nodes(graph, t), n => n.Input.Any(batchInputs.Contains)));
    }

    [Fact]
    public void Batched_and_forked_patches_have_their_own_cache_entries_and_the_batched_key_is_the_old_one()
    {
        var layers = SegLayerSelection.Parse("mid");
        Assert.Equal(PatchedUNetCache.ComputeKey(UNetPath, layers), PatchedUNetCache.ComputeKey(UNetPath, layers, SegPatchMode.Batched));
        Assert.NotEqual(PatchedUNetCache.ComputeKey(UNetPath, layers), PatchedUNetCache.ComputeKey(UNetPath, layers, SegPatchMode.Forked));
        var batched = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(PatchedUNetCache.GetOrCreate(UNetPath, layers, models.PatchCache)))!;
        var forked = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(PatchedUNetCache.GetOrCreate(UNetPath, layers, models.PatchCache, SegPatchMode.Forked)))!;
        Assert.Equal(SegPatchMode.Batched, batched.Mode);
        Assert.Null(batched.ForkRowsInput);
        Assert.Equal(SegPatchMode.Forked, forked.Mode);
        Assert.Equal(batched.Inputs, forked.Inputs);
    }

    [Fact]
    public void Patch_metadata_written_before_the_mode_existed_reads_as_batched()
    {
        var model = OnnxModelFile.Load(UNetPath);
        model.MetadataProps.Add(new Onnx.StringStringEntryProto
        {
            Key = UNetSegPatcher.MetadataKey,
            Value = """{"patch_version":1,"layers":"mid","down_block_count":3,"patched_nodes":[],"inputs":[]}""",
        });
        var info = UNetSegPatcher.ReadPatchInfo(model)!;
        Assert.Equal(SegPatchMode.Batched, info.Mode);
        Assert.Null(info.ForkTensor);
    }
}
