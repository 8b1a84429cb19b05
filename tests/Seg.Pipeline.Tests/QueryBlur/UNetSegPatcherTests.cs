using Google.Protobuf;
using Onnx;
using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.Tests.QueryBlur;

public class UNetSegPatcherTests
{
    private const int Channels = 5;
    private const int Batch = 3;

    // Grid factor of each SyntheticUNet.StandardAttn1 layer (3 down blocks).
    private static readonly int[] s_factors = [1, 2, 4, 4, 4, 4, 4, 2, 2, 1, 1];

    public static TheoryData<int, int, double> GridsAndSigmas()
    {
        var data = new TheoryData<int, int, double>();
        foreach (var (height, width) in new[] { (8, 8), (6, 4), (5, 7) })
        {
            foreach (var sigma in new[] { 0.5, 1.0, 3.7, 10.0, double.PositiveInfinity })
            {
                data.Add(height, width, sigma);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GridsAndSigmas))]
    public void Patched_queries_equal_an_independent_reflect_padded_gaussian_blur(int latentHeight, int latentWidth, double sigma)
    {
        var original = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels);
        var patched = original.Clone();
        var info = UNetSegPatcher.Patch(patched, SegLayerSelection.Parse("all"));
        Assert.Equal([1, 2, 4], info.Inputs.Select(i => i.Factor));

        var hidden = HiddenInputs(SyntheticUNet.StandardAttn1.Length, latentHeight, latentWidth, seed: 7);
        var outputs = Enumerable.Range(0, s_factors.Length).SelectMany(i => new[] { SyntheticUNet.QueryOutput(i), SyntheticUNet.NegatedQueryOutput(i) }).ToList();
        var plain = OrtRunner.Run(original.ToByteArray(), hidden, outputs);
        var blurred = OrtRunner.Run(patched.ToByteArray(), WithOperators(hidden, info, latentHeight, latentWidth, sigma), outputs);

        for (var i = 0; i < s_factors.Length; i++)
        {
            var height = SegBlurOperator.GridLength(latentHeight, s_factors[i]);
            var width = SegBlurOperator.GridLength(latentWidth, s_factors[i]);
            var itemSize = height * width * Channels;
            var before = plain[SyntheticUNet.QueryOutput(i)];
            var after = blurred[SyntheticUNet.QueryOutput(i)];

            // Uncond and cond items get identity operators: untouched to the bit.
            Assert.Equal(before.AsSpan(0, 2 * itemSize).ToArray(), after.AsSpan(0, 2 * itemSize).ToArray());

            var expected = ReferenceBlur.Blur(before.AsSpan(2 * itemSize, itemSize), height, width, Channels, sigma);
            for (var e = 0; e < itemSize; e++)
            {
                Assert.True(Math.Abs(expected[e] - after[(2 * itemSize) + e]) <= 1e-5,
                    $"layer {i} ({height}x{width}) element {e}: {after[(2 * itemSize) + e]} vs reference {expected[e]}");
            }

            // Every consumer of the query sees the blurred one.
            Assert.Equal(after.Select(v => -v), blurred[SyntheticUNet.NegatedQueryOutput(i)]);
        }
    }

    [Fact]
    public void Opset_11_graph_uses_the_attribute_form_of_unsqueeze_and_runs()
    {
        var original = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels, opset: 11);
        var patched = original.Clone();
        var info = UNetSegPatcher.Patch(patched, SegLayerSelection.Parse("m1"));
        var hidden = HiddenInputs(SyntheticUNet.StandardAttn1.Length, 10, 6, seed: 3);
        var output = SyntheticUNet.QueryOutput(4);
        var plain = OrtRunner.Run(original.ToByteArray(), hidden, [output])[output];
        var blurred = OrtRunner.Run(patched.ToByteArray(), WithOperators(hidden, info, 10, 6, 1.0), [output])[output];

        var (height, width) = (3, 2);
        var itemSize = height * width * Channels;
        var expected = ReferenceBlur.Blur(plain.AsSpan(2 * itemSize, itemSize), height, width, Channels, 1.0);
        for (var e = 0; e < itemSize; e++)
        {
            Assert.True(Math.Abs(expected[e] - blurred[(2 * itemSize) + e]) <= 1e-5);
        }
    }

    [Theory]
    [InlineData("mid", new[] { 3, 4 }, new[] { 4 })]
    [InlineData("down", new[] { 0, 1, 2 }, new[] { 1, 2, 4 })]
    [InlineData("up", new[] { 5, 6, 7, 8, 9, 10 }, new[] { 1, 2, 4 })]
    [InlineData("d0,m0", new[] { 0, 3 }, new[] { 1, 4 })]
    [InlineData("u2,u3", new[] { 7, 8 }, new[] { 2 })]
    public void Selection_decides_patched_layers_and_inputs(string selection, int[] layerIndices, int[] factors)
    {
        var model = SyntheticUNet.Build([.. SyntheticUNet.StandardAttn1, .. SyntheticUNet.StandardAttn2], Channels);
        var info = UNetSegPatcher.Patch(model, SegLayerSelection.Parse(selection));

        Assert.Equal(layerIndices.Select(i => SyntheticUNet.StandardAttn1[i]), info.PatchedNodes);
        Assert.Equal(factors, info.Inputs.Select(i => i.Factor));
        Assert.Equal(3, info.DownBlockCount);
        var segInputs = model.Graph.Input.Where(i => i.Name.StartsWith(UNetSegPatcher.InputPrefix, StringComparison.Ordinal)).Select(i => i.Name).ToList();
        Assert.Equal(factors.SelectMany(f => new[] { $"seg_blur_rows_f{f}", $"seg_blur_cols_f{f}" }).Order(), segInputs.Order());
        Assert.All(info.Inputs, i => Assert.Equal("float32", i.ElementType));
        Assert.All(model.Graph.Input.Where(i => segInputs.Contains(i.Name)), i =>
        {
            Assert.Equal((int)TensorProto.Types.DataType.Float, i.Type.TensorType.ElemType);
            Assert.Equal(3, i.Type.TensorType.Shape.Dim.Count);
        });

        // attn2 (cross-attention) is never touched: its MatMul still feeds its consumers directly.
        foreach (var attn2 in SyntheticUNet.StandardAttn2)
        {
            var node = model.Graph.Node.Single(n => n.Name == attn2);
            Assert.Equal($"{attn2}_output_0", node.Output[0]);
        }
    }

    [Fact]
    public void Bad_index_is_rejected_and_the_model_is_left_alone()
    {
        var model = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels);
        var before = model.ToByteArray();
        var error = Assert.Throws<ArgumentException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Parse("u12")));
        Assert.StartsWith("seg_layers: u12 is out of range: this UNet has 3 down, 2 mid, 6 up attn1 layers", error.Message);
        Assert.Equal(before, model.ToByteArray());
    }

    [Fact]
    public void Name_clash_fails_before_the_graph_is_edited()
    {
        var model = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels);
        var clash = $"{SyntheticUNet.ToQ("mid_block", 0, 1)}_output_0_seg_unblurred";
        model.Graph.ValueInfo.Add(SyntheticUNet.TensorValue(clash, TensorProto.Types.DataType.Float, "b", "n", "c"));
        var before = model.ToByteArray();

        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Default));
        Assert.Contains(clash, error.Message);
        Assert.Equal(before, model.ToByteArray());
    }

    [Fact]
    public void Float16_graph_gets_float16_operator_inputs_and_blurs()
    {
        var original = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels, float16: true);
        var patched = original.Clone();
        var info = UNetSegPatcher.Patch(patched, SegLayerSelection.Default);

        var pair = Assert.Single(info.Inputs);
        Assert.Equal(("float16", 4), (pair.ElementType, pair.Factor));
        foreach (var name in new[] { pair.RowsInput, pair.ColumnsInput })
        {
            Assert.Equal((int)TensorProto.Types.DataType.Float16, patched.Graph.Input.Single(i => i.Name == name).Type.TensorType.ElemType);
        }

        var hidden = HiddenInputs(SyntheticUNet.StandardAttn1.Length, 16, 12, seed: 5);
        var output = SyntheticUNet.QueryOutput(3);
        var plain = OrtRunner.Run(original.ToByteArray(), hidden, [output], float16: true)[output];
        var blurred = OrtRunner.Run(patched.ToByteArray(), WithOperators(hidden, info, 16, 12, 1.0), [output], float16: true)[output];
        var (height, width) = (4, 3);
        var itemSize = height * width * Channels;
        Assert.Equal(plain.AsSpan(0, 2 * itemSize).ToArray(), blurred.AsSpan(0, 2 * itemSize).ToArray());
        var expected = ReferenceBlur.Blur(plain.AsSpan(2 * itemSize, itemSize), height, width, Channels, 1.0);
        for (var e = 0; e < itemSize; e++)
        {
            // float16 carries ~3 decimal digits.
            Assert.True(Math.Abs(expected[e] - blurred[(2 * itemSize) + e]) <= 5e-3 * Math.Max(1, Math.Abs(expected[e])));
        }
    }

    [Fact]
    public void Metadata_round_trips_through_the_file_format()
    {
        var model = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels);
        var info = UNetSegPatcher.Patch(model, SegLayerSelection.Parse("m0,up"));
        var reread = UNetSegPatcher.ReadPatchInfo(ModelProto.Parser.ParseFrom(model.ToByteArray()));

        Assert.NotNull(reread);
        Assert.Equal(UNetSegPatcher.PatchVersion, reread.PatchVersion);
        Assert.Equal("up,m0", reread.Layers);
        Assert.Equal(info.Layers, reread.Layers);
        Assert.Equal(info.DownBlockCount, reread.DownBlockCount);
        Assert.Equal(info.PatchedNodes, reread.PatchedNodes);
        Assert.Equal(info.Inputs, reread.Inputs);
        Assert.Equal(
            [new SegBlurInputPair(1, "seg_blur_rows_f1", "seg_blur_cols_f1", "float32"),
             new SegBlurInputPair(2, "seg_blur_rows_f2", "seg_blur_cols_f2", "float32"),
             new SegBlurInputPair(4, "seg_blur_rows_f4", "seg_blur_cols_f4", "float32")],
            reread.Inputs);
        var json = model.MetadataProps.Single(p => p.Key == UNetSegPatcher.MetadataKey).Value;
        Assert.Contains("\"patch_version\":1", json);
        Assert.Contains("\"factor\":4", json);
        Assert.Null(UNetSegPatcher.ReadPatchInfo(SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels)));
    }

    [Fact]
    public void Patching_twice_is_an_error()
    {
        var model = SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels);
        UNetSegPatcher.Patch(model, SegLayerSelection.Default);
        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Parse("down")));
        Assert.Contains("already SEG-patched", error.Message);

        model.MetadataProps.Clear();
        error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Parse("down")));
        Assert.Contains("already SEG-patched", error.Message);
    }

    [Fact]
    public void Fused_attention_graph_is_reported_as_optimised()
    {
        var model = SyntheticUNet.Build([], Channels);
        model.Graph.Node.Add(SyntheticUNet.Node("MatMul", "/mid_block/attentions.0/transformer_blocks.0/attn1/to_qkv/MatMul", ["x", "w"], "qkv"));
        model.Graph.Node.Add(SyntheticUNet.Node("MultiHeadAttention", "MultiHeadAttention_0", ["qkv"], "attention", domain: "com.microsoft"));

        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Default));
        Assert.Contains("was optimised", error.Message);
        Assert.Contains("MultiHeadAttention", error.Message);
        Assert.Contains("before ONNX Runtime transformer optimisation", error.Message);
    }

    [Fact]
    public void Packed_qkv_without_contrib_ops_is_reported_as_optimised()
    {
        var model = SyntheticUNet.Build([], Channels);
        model.Graph.Node.Add(SyntheticUNet.Node("MatMul", "/mid_block/attentions.0/transformer_blocks.0/attn1/to_qkv/MatMul", ["x", "w"], "qkv"));
        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Default));
        Assert.Contains("packed QKV", error.Message);
    }

    [Fact]
    public void Graph_without_attn1_is_reported()
    {
        var model = SyntheticUNet.Build(SyntheticUNet.StandardAttn2, Channels);
        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Default));
        Assert.StartsWith("No attn1 to_q MatMul was found in the UNet graph", error.Message);
    }

    [Fact]
    public void Query_type_that_cannot_be_told_is_an_error_not_a_guess()
    {
        var model = SyntheticUNet.Build([SyntheticUNet.ToQ("mid_block", 0, 0), SyntheticUNet.ToQ("down_blocks.0", 0, 0)], Channels);
        // Weight computed by an untyped node, input declared without a type: nothing says what q is.
        model.Graph.Initializer.RemoveAt(0);
        model.Graph.Node.Add(SyntheticUNet.Node("Relu", "make_weight", ["something"], "weight_0"));
        model.Graph.Input[0].Type = new TypeProto();
        model.Graph.Output.Clear();

        var error = Assert.Throws<InvalidOperationException>(() => UNetSegPatcher.Patch(model, SegLayerSelection.Default));
        Assert.Contains("Cannot tell the element type of the query", error.Message);
    }

    internal static Dictionary<string, OrtRunner.Tensor> HiddenInputs(int layerCount, int latentHeight, int latentWidth, int seed)
    {
        var random = new Random(seed);
        var inputs = new Dictionary<string, OrtRunner.Tensor>();
        for (var i = 0; i < layerCount; i++)
        {
            var tokens = SegBlurOperator.GridLength(latentHeight, s_factors[i]) * SegBlurOperator.GridLength(latentWidth, s_factors[i]);
            var data = new float[Batch * tokens * Channels];
            for (var e = 0; e < data.Length; e++)
            {
                data[e] = (float)((random.NextDouble() * 2) - 1);
            }
            inputs[SyntheticUNet.HiddenInput(i)] = new OrtRunner.Tensor(data, [Batch, tokens, Channels]);
        }
        return inputs;
    }

    /// <summary>Adds the blur operators: identity for the uncond and cond items, the Gaussian for the perturbed one.</summary>
    internal static Dictionary<string, OrtRunner.Tensor> WithOperators(
        Dictionary<string, OrtRunner.Tensor> hidden, SegPatchInfo info, int latentHeight, int latentWidth, double sigma)
    {
        var inputs = new Dictionary<string, OrtRunner.Tensor>(hidden);
        foreach (var pair in info.Inputs)
        {
            var height = SegBlurOperator.GridLength(latentHeight, pair.Factor);
            var width = SegBlurOperator.GridLength(latentWidth, pair.Factor);
            inputs[pair.RowsInput] = Stack(height, SegBlurOperator.Matrix(height, sigma));
            inputs[pair.ColumnsInput] = Stack(width, SegBlurOperator.Matrix(width, sigma));
        }
        return inputs;
    }

    private static OrtRunner.Tensor Stack(int n, float[] perturbed)
    {
        var identity = SegBlurOperator.Identity(n);
        return new OrtRunner.Tensor([.. identity, .. identity, .. perturbed], [Batch, n, n]);
    }
}
