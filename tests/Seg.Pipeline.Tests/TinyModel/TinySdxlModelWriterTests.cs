using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using Seg.Pipeline.TinyModel;
using Xunit.Abstractions;

namespace Seg.Pipeline.Tests.TinyModel;

public sealed class TinySdxlModelWriterTests(TinyModelFixture fixture, ITestOutputHelper output) : IClassFixture<TinyModelFixture>
{
    private static readonly TinyModelOptions Fp32 = new();
    private static readonly TinyModelOptions Fp16 = new(Fp16: true);

    /// <summary>The attn1 layers in module order with the latent downscale of their grid (DESIGN.md section 3).</summary>
    private static readonly (string Block, int Factor)[] SelfAttentionLayers =
    [
        ("/down_blocks.1/attentions.0/transformer_blocks.0", 2),
        ("/down_blocks.2/attentions.0/transformer_blocks.0", 4),
        ("/down_blocks.2/attentions.0/transformer_blocks.1", 4),
        ("/mid_block/attentions.0/transformer_blocks.0", 4),
        ("/mid_block/attentions.0/transformer_blocks.1", 4),
        ("/up_blocks.0/attentions.0/transformer_blocks.0", 4),
        ("/up_blocks.0/attentions.0/transformer_blocks.1", 4),
        ("/up_blocks.0/attentions.1/transformer_blocks.0", 4),
        ("/up_blocks.0/attentions.1/transformer_blocks.1", 4),
        ("/up_blocks.1/attentions.0/transformer_blocks.0", 2),
        ("/up_blocks.1/attentions.1/transformer_blocks.0", 2),
    ];

    private static readonly string[] ExpectedFiles =
    [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/model.onnx", "text_encoder/config.json",
        "text_encoder_2/model.onnx", "text_encoder_2/config.json",
        "unet/model.onnx", "unet/config.json",
        "vae_decoder/model.onnx", "vae_decoder/config.json",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json",
        "tokenizer_2/vocab.json", "tokenizer_2/merges.txt", "tokenizer_2/tokenizer_config.json", "tokenizer_2/special_tokens_map.json",
    ];

    // ---- files ----

    [Fact]
    public void Writing_twice_gives_identical_bytes_and_overwrites()
    {
        var first = Path.Combine(fixture.Root, "twice-a");
        var second = Path.Combine(fixture.Root, "twice-b");
        TinySdxlModelWriter.Write(first, Fp32);
        TinySdxlModelWriter.Write(second, Fp32);
        TinySdxlModelWriter.Write(second, Fp32);
        var files = Directory.GetFiles(first, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(first, f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(files, Directory.GetFiles(second, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(second, f)).Order(StringComparer.Ordinal).ToArray());
        foreach (var file in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(first, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, file))), file);
        }
    }

    [Fact]
    public void A_different_seed_gives_different_weights()
    {
        var other = fixture.Folder(Fp32 with { Seed = 99 });
        var folder = fixture.Folder(Fp32);
        Assert.False(File.ReadAllBytes(Path.Combine(folder, "unet/model.onnx")).AsSpan()
            .SequenceEqual(File.ReadAllBytes(Path.Combine(other, "unet/model.onnx"))));
    }

    [Fact]
    public void Folder_has_every_file_and_no_external_data_by_default()
    {
        var folder = fixture.Folder(Fp32);
        foreach (var file in ExpectedFiles)
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        }
        Assert.False(File.Exists(Path.Combine(folder, "unet/model.onnx_data")));
    }

    [Fact]
    public void Json_files_carry_the_sdxl_settings()
    {
        var folder = fixture.Folder(Fp32);
        using var index = ReadJson(folder, "model_index.json");
        Assert.Equal("StableDiffusionXLPipeline", index.RootElement.GetProperty("_class_name").GetString());
        Assert.True(index.RootElement.GetProperty("force_zeros_for_empty_prompt").GetBoolean());
        foreach (var component in new[] { "scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet", "vae_decoder" })
        {
            Assert.Equal(2, index.RootElement.GetProperty(component).GetArrayLength());
        }

        using var scheduler = ReadJson(folder, "scheduler/scheduler_config.json");
        var s = scheduler.RootElement;
        Assert.Equal("EulerDiscreteScheduler", s.GetProperty("_class_name").GetString());
        Assert.Equal(0.00085, s.GetProperty("beta_start").GetDouble());
        Assert.Equal(0.012, s.GetProperty("beta_end").GetDouble());
        Assert.Equal("scaled_linear", s.GetProperty("beta_schedule").GetString());
        Assert.Equal(1000, s.GetProperty("num_train_timesteps").GetInt32());
        Assert.Equal(1, s.GetProperty("steps_offset").GetInt32());
        Assert.Equal("leading", s.GetProperty("timestep_spacing").GetString());
        Assert.Equal("linear", s.GetProperty("interpolation_type").GetString());
        Assert.False(s.GetProperty("use_karras_sigmas").GetBoolean());
        Assert.Equal("epsilon", s.GetProperty("prediction_type").GetString());
        Assert.False(s.GetProperty("clip_sample").GetBoolean());
        Assert.False(s.GetProperty("set_alpha_to_one").GetBoolean());
        Assert.Equal(1.0, s.GetProperty("sample_max_value").GetDouble());

        using var vae = ReadJson(folder, "vae_decoder/config.json");
        Assert.Equal(0.13025, vae.RootElement.GetProperty("scaling_factor").GetDouble());

        foreach (var (tokenizer, pad) in new[] { ("tokenizer", "<|endoftext|>"), ("tokenizer_2", "!") })
        {
            using var config = ReadJson(folder, $"{tokenizer}/tokenizer_config.json");
            Assert.Equal(pad, config.RootElement.GetProperty("pad_token").GetString());
            Assert.Equal(77, config.RootElement.GetProperty("model_max_length").GetInt32());
            Assert.Equal("<|startoftext|>", config.RootElement.GetProperty("bos_token").GetProperty("content").GetString());
            Assert.Equal("<|endoftext|>", config.RootElement.GetProperty("eos_token").GetProperty("content").GetString());
            Assert.Equal("<|endoftext|>", config.RootElement.GetProperty("unk_token").GetProperty("content").GetString());
            using var special = ReadJson(folder, $"{tokenizer}/special_tokens_map.json");
            Assert.Equal(pad, special.RootElement.GetProperty("pad_token").GetString());
        }

        // The tokenizer files are the real CLIP vocabulary (shared copy beside the repo, or the source resource).
        using var vocab = ReadJson(folder, "tokenizer_2/vocab.json");
        Assert.Equal(49407, vocab.RootElement.GetProperty("<|endoftext|>").GetInt32());
        Assert.Equal(0, vocab.RootElement.GetProperty("!").GetInt32());
        Assert.Equal(2368, vocab.RootElement.GetProperty("cat</w>").GetInt32());
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "src/Seg.Pipeline/Resources/clip-tokenizer/merges.txt")),
            File.ReadAllBytes(Path.Combine(folder, "tokenizer/merges.txt")));
    }

    [Fact]
    public void Folder_is_under_30_MiB()
    {
        var folder = Path.Combine(fixture.Root, "timed");
        var clock = Stopwatch.StartNew();
        TinySdxlModelWriter.Write(folder, Fp32);
        clock.Stop();
        var bytes = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        output.WriteLine($"fp32 folder {bytes} bytes ({bytes / 1048576.0:F2} MiB), written in {clock.ElapsedMilliseconds} ms");
        Assert.True(bytes < 30L * 1024 * 1024, $"folder is {bytes} bytes");
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_field_named()
    {
        Assert.Throws<ArgumentException>(() => TinySdxlModelWriter.Write(" ", Fp32));
        Assert.Throws<ArgumentNullException>(() => TinySdxlModelWriter.Write(Path.Combine(fixture.Root, "x"), null!));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            TinySdxlModelWriter.Write(Path.Combine(fixture.Root, "bad"), Fp32 with { TimestepForm = (TimestepForm)7 }));
        Assert.Contains("TimestepForm", error.Message, StringComparison.Ordinal);
    }

    // ---- graph signatures ----

    public static TheoryData<bool, TimestepForm, bool> Variants => new()
    {
        { false, TimestepForm.FloatVector, false },
        { false, TimestepForm.Int64Vector, false },
        { false, TimestepForm.FloatScalar, false },
        { false, TimestepForm.FloatVector, true },
        { true, TimestepForm.FloatVector, false },
        { true, TimestepForm.Int64Vector, true },
        { true, TimestepForm.FloatScalar, false },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Graphs_have_the_specified_inputs_and_outputs(bool fp16, TimestepForm form, bool external)
    {
        var folder = fixture.Folder(new TinyModelOptions(fp16, form, external));
        var f = fp16 ? TensorElementType.Float16 : TensorElementType.Float;
        var i64 = TensorElementType.Int64;

        using (var te = Ort.Session(Path.Combine(folder, "text_encoder/model.onnx")))
        {
            AssertSignature(te.InputMetadata, ("input_ids", i64, [-1, -1]));
            AssertSignature(te.OutputMetadata,
                ("last_hidden_state", f, [-1, -1, 32]), ("pooler_output", f, [-1, 32]),
                ("hidden_states.0", f, [-1, -1, 32]), ("hidden_states.1", f, [-1, -1, 32]), ("hidden_states.2", f, [-1, -1, 32]));
        }
        using (var te2 = Ort.Session(Path.Combine(folder, "text_encoder_2/model.onnx")))
        {
            AssertSignature(te2.InputMetadata, ("input_ids", i64, [-1, -1]));
            AssertSignature(te2.OutputMetadata,
                ("text_embeds", f, [-1, 64]), ("last_hidden_state", f, [-1, -1, 64]),
                ("hidden_states.0", f, [-1, -1, 64]), ("hidden_states.1", f, [-1, -1, 64]), ("hidden_states.2", f, [-1, -1, 64]));
        }
        using (var unet = Ort.Session(Path.Combine(folder, "unet/model.onnx")))
        {
            (string, TensorElementType, int[]) timestep = form switch
            {
                TimestepForm.FloatVector => ("timestep", f, [-1]),
                TimestepForm.Int64Vector => ("timestep", i64, [-1]),
                _ => ("timestep", f, []),
            };
            AssertSignature(unet.InputMetadata,
                ("sample", f, [-1, 4, -1, -1]), timestep, ("encoder_hidden_states", f, [-1, -1, 96]),
                ("text_embeds", f, [-1, 64]), ("time_ids", f, [-1, 6]));
            AssertSignature(unet.OutputMetadata, ("out_sample", f, [-1, 4, -1, -1]));
        }
        using (var vae = Ort.Session(Path.Combine(folder, "vae_decoder/model.onnx")))
        {
            AssertSignature(vae.InputMetadata, ("latent_sample", f, [-1, 4, -1, -1]));
            AssertSignature(vae.OutputMetadata, ("sample", f, [-1, 3, -1, -1]));
        }

        var graph = Ort.Load(Path.Combine(folder, "unet/model.onnx"));
        Assert.Equal(8, graph.IrVersion);
        Assert.Equal(17, Assert.Single(graph.OpsetImport).Version);
        var expectedInitializerType = fp16 ? (int)TensorProto.Types.DataType.Float16 : (int)TensorProto.Types.DataType.Float;
        foreach (var component in new[] { "text_encoder", "text_encoder_2", "unet", "vae_decoder" })
        {
            var model = Ort.Load(Path.Combine(folder, component, "model.onnx"));
            Assert.All(model.Graph.Initializer, t => Assert.Equal(expectedInitializerType, t.DataType));
        }
    }

    [Fact]
    public void External_unet_data_holds_every_initializer_and_gives_the_same_output()
    {
        var folder = fixture.Folder(Fp32 with { ExternalUNetData = true });
        var dataFile = new FileInfo(Path.Combine(folder, "unet/model.onnx_data"));
        Assert.True(dataFile.Exists);
        var modelFile = new FileInfo(Path.Combine(folder, "unet/model.onnx"));
        // What stays in model.onnx is the graph itself (about 1300 named nodes); the weights are in the data file.
        output.WriteLine($"model.onnx {modelFile.Length} bytes, model.onnx_data {dataFile.Length} bytes");
        Assert.True(modelFile.Length < 600_000, $"model.onnx is {modelFile.Length} bytes");
        Assert.True(dataFile.Length > 10 * modelFile.Length, $"model.onnx_data is {dataFile.Length} bytes");

        var model = Ort.Load(modelFile.FullName);
        Assert.NotEmpty(model.Graph.Initializer);
        foreach (var tensor in model.Graph.Initializer)
        {
            Assert.Equal(TensorProto.Types.DataLocation.External, tensor.DataLocation);
            Assert.True(tensor.RawData.IsEmpty);
            var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal("model.onnx_data", entries["location"]);
            var elements = tensor.Dims.Aggregate(1L, (a, d) => a * d);
            Assert.Equal(elements * 4, long.Parse(entries["length"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(long.Parse(entries["offset"], System.Globalization.CultureInfo.InvariantCulture) + (elements * 4) <= dataFile.Length);
        }

        // Same seed, same weights: the external model computes what the inline one does.
        using var inline = Ort.Session(Path.Combine(fixture.Folder(Fp32), "unet/model.onnx"));
        using var externalSession = Ort.Session(modelFile.FullName);
        var inputs = Ort.UNetInputs(inline, batch: 1, height: 8, width: 8);
        try
        {
            var a = Ort.Run(inline, inputs, "out_sample")["out_sample"].Values;
            var b = Ort.Run(externalSession, inputs, "out_sample")["out_sample"].Values;
            AssertClose(a, b, 1e-5);
        }
        finally
        {
            Ort.DisposeAll(inputs.Values);
        }
    }

    // ---- the UNet ----

    public static TheoryData<bool, TimestepForm, int, int> UNetRuns => new()
    {
        { false, TimestepForm.FloatVector, 8, 8 },
        { false, TimestepForm.FloatVector, 12, 8 },
        { false, TimestepForm.Int64Vector, 9, 7 },
        { false, TimestepForm.FloatScalar, 1, 1 },
        { true, TimestepForm.FloatVector, 8, 8 },
        { true, TimestepForm.Int64Vector, 12, 8 },
        { true, TimestepForm.FloatScalar, 9, 7 },
    };

    [Theory]
    [MemberData(nameof(UNetRuns))]
    public void UNet_runs_with_batch_2_and_gives_a_finite_noise_sized_prediction(bool fp16, TimestepForm form, int height, int width)
    {
        using var session = Ort.Session(Path.Combine(fixture.Folder(new TinyModelOptions(fp16, form)), "unet/model.onnx"));
        var inputs = Ort.UNetInputs(session, batch: 2, height, width);
        try
        {
            var (values, shape) = Ort.Run(session, inputs, "out_sample")["out_sample"];
            Assert.Equal(new long[] { 2, 4, height, width }, shape);
            Assert.All(values, v => Assert.True(float.IsFinite(v)));
            var std = Ort.Std(values);
            output.WriteLine($"{height}x{width} out_sample std {std:F3}");
            if (height * width >= 64)
            {
                Assert.InRange(std, 0.5, 2.0);
            }
        }
        finally
        {
            Ort.DisposeAll(inputs.Values);
        }
    }

    [Fact]
    public void Fp16_unet_computes_what_the_fp32_unet_computes()
    {
        using var fp32 = Ort.Session(Path.Combine(fixture.Folder(Fp32), "unet/model.onnx"));
        using var fp16 = Ort.Session(Path.Combine(fixture.Folder(Fp16), "unet/model.onnx"));
        var inputs32 = Ort.UNetInputs(fp32, batch: 1, height: 8, width: 8);
        var inputs16 = Ort.UNetInputs(fp16, batch: 1, height: 8, width: 8);
        try
        {
            var a = Ort.Run(fp32, inputs32, "out_sample")["out_sample"].Values;
            var b = Ort.Run(fp16, inputs16, "out_sample")["out_sample"].Values;
            var maxDiff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            output.WriteLine($"max |fp32 - fp16| = {maxDiff:F4}");
            Assert.True(maxDiff < 0.05, $"fp16 differs by {maxDiff}");
        }
        finally
        {
            Ort.DisposeAll(inputs32.Values.Concat(inputs16.Values));
        }
    }

    [Fact]
    public void Self_attention_layers_are_named_and_wired_as_exported_graphs()
    {
        var model = Ort.Load(Path.Combine(fixture.Folder(Fp32), "unet/model.onnx"));
        var queries = Ort.SelfAttentionQueries(model).ToList();
        Assert.Equal(SelfAttentionLayers.Select(l => l.Block + "/attn1/to_q/MatMul"), queries.Select(n => n.Name));
        Assert.Contains(queries, n => n.Name == "/mid_block/attentions.0/transformer_blocks.0/attn1/to_q/MatMul");
        Assert.Equal(3, queries.Count(n => n.Name.StartsWith("/down_blocks.", StringComparison.Ordinal)));
        Assert.Equal(2, queries.Count(n => n.Name.StartsWith("/mid_block/", StringComparison.Ordinal)));
        Assert.Equal(6, queries.Count(n => n.Name.StartsWith("/up_blocks.", StringComparison.Ordinal)));

        var producers = model.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var query in queries)
        {
            var block = query.Name[..query.Name.IndexOf("/attn1/", StringComparison.Ordinal)];
            Assert.Equal(block + "/norm1/LayerNormalization", producers[query.Input[0]].Name);
            Assert.Equal(new long[] { 64, 64 }, initializers[query.Input[1]].Dims);
            var consumer = Assert.Single(model.Graph.Node, n => n.Input.Contains(query.Output[0]));
            Assert.Equal("Reshape", consumer.OpType);
            Assert.Equal(block + "/attn1/Reshape", consumer.Name);
            foreach (var projection in new[] { "to_k", "to_v" })
            {
                Assert.Single(model.Graph.Node, n => n.Name == $"{block}/attn1/{projection}/MatMul");
            }
            Assert.Single(model.Graph.Node, n => n.Name == $"{block}/attn1/Softmax");
            Assert.Single(model.Graph.Node, n => n.Name == $"{block}/attn2/to_k/MatMul");
        }
        Assert.Contains(model.Graph.Node, n => n.Name == "/down_blocks.0/resnets.0/conv1/Conv");
        Assert.Contains(model.Graph.Node, n => n.Name == "/up_blocks.0/upsamplers.0/Resize");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Query_tokens_form_the_grid_of_each_layer_and_are_float16_in_the_fp16_model(bool fp16)
    {
        // Latent 9x7: grids 5x4 at /2 and 3x2 at /4 (each halving rounds up).
        var model = Ort.Load(Path.Combine(fixture.Folder(fp16 ? Fp16 : Fp32), "unet/model.onnx"));
        var queries = Ort.SelfAttentionQueries(model).ToList();
        Ort.AddOutputs(model, queries.Select(q => q.Output[0]));
        using var session = Ort.Session(model);
        var expectedType = fp16 ? TensorElementType.Float16 : TensorElementType.Float;
        foreach (var query in queries)
        {
            Assert.Equal(expectedType, session.OutputMetadata[query.Output[0]].ElementDataType);
        }
        var inputs = Ort.UNetInputs(session, batch: 2, height: 9, width: 7);
        try
        {
            var results = Ort.Run(session, inputs, queries.Select(q => q.Output[0]).ToArray());
            foreach (var (block, factor) in SelfAttentionLayers)
            {
                var (gridHeight, gridWidth) = (9, 7);
                for (var f = factor; f > 1; f /= 2)
                {
                    (gridHeight, gridWidth) = ((gridHeight + 1) / 2, (gridWidth + 1) / 2);
                }
                var shape = results[block + "/attn1/to_q/MatMul_output_0"].Shape;
                Assert.Equal(new long[] { 2, gridHeight * gridWidth, 64 }, shape);
            }
        }
        finally
        {
            Ort.DisposeAll(inputs.Values);
        }
    }

    [Fact]
    public void Self_attention_is_sharp()
    {
        // Latent 32x32: 256 tokens at /2, 64 at /4. Uniform attention would give a mean max probability of 1/N.
        var model = Ort.Load(Path.Combine(fixture.Folder(Fp32), "unet/model.onnx"));
        var softmaxOutputs = SelfAttentionLayers.Select(l => l.Block + "/attn1/Softmax_output_0").ToArray();
        Ort.AddOutputs(model, softmaxOutputs);
        using var session = Ort.Session(model);
        var inputs = Ort.UNetInputs(session, batch: 1, height: 32, width: 32);
        try
        {
            var results = Ort.Run(session, inputs, softmaxOutputs);
            foreach (var name in softmaxOutputs)
            {
                var (probabilities, shape) = results[name];
                var keys = (int)shape[^1];
                var rows = probabilities.Length / keys;
                var meanMax = Enumerable.Range(0, rows).Average(r => probabilities.AsSpan(r * keys, keys).ToArray().Max());
                output.WriteLine($"{name}: N={keys} mean max probability {meanMax:F3} (uniform {1.0 / keys:F4})");
                Assert.True(meanMax > 0.3, $"{name}: mean max probability {meanMax}");
                Assert.True(meanMax > 10.0 / keys);
            }
        }
        finally
        {
            Ort.DisposeAll(inputs.Values);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Blurring_the_mid_block_queries_changes_the_prediction_and_identity_does_not(bool fp16)
    {
        // Emulates the SEG patch on the two mid attn1 layers (grid 4x3 for latent 16x12): the query [B, N, C]
        // becomes B_H X B_W^T per channel, with B_H, B_W fed as graph inputs of the model's float type.
        const int latentHeight = 16, latentWidth = 12, gridHeight = 4, gridWidth = 3, channels = 64;
        var folder = fixture.Folder(fp16 ? Fp16 : Fp32);
        var elementType = fp16 ? (int)TensorProto.Types.DataType.Float16 : (int)TensorProto.Types.DataType.Float;
        var model = Ort.Load(Path.Combine(folder, "unet/model.onnx"));
        foreach (var query in Ort.SelfAttentionQueries(model).Where(q => q.Name.StartsWith("/mid_block/", StringComparison.Ordinal)).ToList())
        {
            InsertQueryBlur(model, query, gridHeight, gridWidth, channels);
        }
        model.Graph.Input.Add(MatrixInput("blur_h", elementType, gridHeight));
        model.Graph.Input.Add(MatrixInput("blur_w", elementType, gridWidth));

        using var original = Ort.Session(Path.Combine(folder, "unet/model.onnx"));
        using var patched = Ort.Session(model);
        var inputs = Ort.UNetInputs(original, batch: 1, height: latentHeight, width: latentWidth);
        var baseline = Ort.Run(original, inputs, "out_sample")["out_sample"].Values;

        float[] Patched(Func<int, int, int, float> matrix)
        {
            var withBlur = new Dictionary<string, OrtValue>(inputs)
            {
                ["blur_h"] = Ort.Floats(fp16, Matrix(gridHeight, matrix), 1, gridHeight, gridHeight),
                ["blur_w"] = Ort.Floats(fp16, Matrix(gridWidth, matrix), 1, gridWidth, gridWidth),
            };
            try
            {
                return Ort.Run(patched, withBlur, "out_sample")["out_sample"].Values;
            }
            finally
            {
                withBlur["blur_h"].Dispose();
                withBlur["blur_w"].Dispose();
            }
        }

        try
        {
            var identity = Patched((n, r, c) => r == c ? 1f : 0f);
            var infiniteBlur = Patched((n, r, c) => 1f / n);
            var identityDiff = baseline.Zip(identity, (a, b) => Math.Abs(a - b)).Max();
            var blurDiff = baseline.Zip(infiniteBlur, (a, b) => Math.Abs(a - b)).Average();
            var relative = blurDiff / Ort.Std(baseline);
            output.WriteLine($"fp16={fp16}: identity max diff {identityDiff:G3}; infinite blur mean |diff| / std = {relative:F3}");
            Assert.True(identityDiff < (fp16 ? 1e-2 : 1e-4), $"identity blur changed the output by {identityDiff}");
            Assert.True(relative > 0.02, $"infinite blur of the mid queries changed the output by only {relative} of its std");
        }
        finally
        {
            Ort.DisposeAll(inputs.Values);
        }
    }

    // ---- text encoders and VAE ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Text_encoders_give_finite_outputs_and_pool_at_the_eos_token(bool fp16)
    {
        // "a photo of a cat" as the CLIP tokenizers give it: tokenizer pads with 49407, tokenizer_2 with 0 ("!").
        long[] prompt = [49406, 320, 1125, 539, 320, 2368, 49407];
        const int eos = 6;
        var folder = fixture.Folder(fp16 ? Fp16 : Fp32);
        foreach (var (component, pad, hidden, pooledName) in new[]
        {
            ("text_encoder", 49407L, 32, "pooler_output"),
            ("text_encoder_2", 0L, 64, "text_embeds"),
        })
        {
            var ids = Enumerable.Repeat(pad, 77).ToArray();
            prompt.CopyTo(ids, 0);
            var batch = ids.Concat(ids).ToArray();
            using var session = Ort.Session(Path.Combine(folder, component, "model.onnx"));
            using var input = OrtValue.CreateTensorValueFromMemory(batch, [2, 77]);
            var names = session.OutputMetadata.Keys.ToArray();
            var results = Ort.Run(session, new Dictionary<string, OrtValue> { ["input_ids"] = input }, names);
            foreach (var (name, (values, _)) in results)
            {
                Assert.All(values, v => Assert.True(float.IsFinite(v), $"{component} {name}"));
            }
            var last = results["last_hidden_state"];
            Assert.Equal(new long[] { 2, 77, hidden }, last.Shape);
            Assert.Equal(new long[] { 2, 77, hidden }, results["hidden_states.1"].Shape);
            Assert.Equal(new long[] { 2, hidden }, results[pooledName].Shape);
            Assert.InRange(Ort.Std(results["hidden_states.1"].Values), 0.3, 3.0);
            // last_hidden_state is hidden_states.2 after the final layer norm.
            Assert.NotEqual(results["hidden_states.2"].Values, last.Values);
            if (component == "text_encoder")
            {
                var pooled = results["pooler_output"].Values;
                Assert.Equal(last.Values.AsSpan(eos * hidden, hidden).ToArray(), pooled.AsSpan(0, hidden).ToArray());
                Assert.Equal(last.Values.AsSpan((77 + eos) * hidden, hidden).ToArray(), pooled.AsSpan(hidden, hidden).ToArray());
            }
        }
    }

    [Fact]
    public void Text_encoder_attention_is_causal()
    {
        using var session = Ort.Session(Path.Combine(fixture.Folder(Fp32), "text_encoder/model.onnx"));
        long[] a = Enumerable.Repeat(49407L, 77).ToArray();
        long[] b = (long[])a.Clone();
        a[0] = b[0] = 49406;
        a[1] = b[1] = 320;
        b[5] = 2368;
        float[] Hidden(long[] ids)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, 77]);
            return Ort.Run(session, new Dictionary<string, OrtValue> { ["input_ids"] = input }, "last_hidden_state")["last_hidden_state"].Values;
        }
        var ha = Hidden(a);
        var hb = Hidden(b);
        AssertClose(ha.AsSpan(0, 5 * 32).ToArray(), hb.AsSpan(0, 5 * 32).ToArray(), 1e-6);
        Assert.NotEqual(ha.AsSpan(5 * 32, 32).ToArray(), hb.AsSpan(5 * 32, 32).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Vae_decoder_upsamples_8x_to_an_image_in_about_minus_1_to_1(bool fp16)
    {
        using var session = Ort.Session(Path.Combine(fixture.Folder(fp16 ? Fp16 : Fp32), "vae_decoder/model.onnx"));
        // Latents as the pipeline feeds them: unit noise divided by the scaling factor.
        var latent = Ort.Randn(3, 2 * 4 * 6 * 5).Select(v => v / 0.13025f).ToArray();
        using var input = Ort.Floats(fp16, latent, 2, 4, 6, 5);
        var (image, shape) = Ort.Run(session, new Dictionary<string, OrtValue> { ["latent_sample"] = input }, "sample")["sample"];
        Assert.Equal(new long[] { 2, 3, 48, 40 }, shape);
        Assert.All(image, v => Assert.True(float.IsFinite(v)));
        var inside = image.Count(v => v is >= -1f and <= 1f) / (double)image.Length;
        var std = Ort.Std(image);
        output.WriteLine($"VAE image std {std:F3}, fraction in [-1, 1] {inside:F3}");
        Assert.True(inside > 0.95, $"only {inside:P1} of the pixels are in [-1, 1]");
        Assert.InRange(std, 0.1, 0.8);
    }

    // ---- helpers ----

    private static JsonDocument ReadJson(string folder, string file) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, file)));

    private static void AssertSignature(IReadOnlyDictionary<string, NodeMetadata> actual, params (string Name, TensorElementType Type, int[] Dims)[] expected)
    {
        Assert.Equal(expected.Select(e => e.Name), actual.Keys);
        foreach (var (name, type, dims) in expected)
        {
            Assert.Equal(type, actual[name].ElementDataType);
            Assert.Equal(dims, actual[name].Dimensions);
        }
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"max difference {worst} exceeds {tolerance}");
    }

    private static float[] Matrix(int n, Func<int, int, int, float> entry)
    {
        var values = new float[n * n];
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < n; c++)
            {
                values[(r * n) + c] = entry(n, r, c);
            }
        }
        return values;
    }

    private static ValueInfoProto MatrixInput(string name, int elementType, int size) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = elementType,
                Shape = new TensorShapeProto
                {
                    Dim =
                    {
                        new TensorShapeProto.Types.Dimension { DimParam = "batch_size" },
                        new TensorShapeProto.Types.Dimension { DimValue = size },
                        new TensorShapeProto.Types.Dimension { DimValue = size },
                    },
                },
            },
        },
    };

    /// <summary>q [B, H*W, C] -> B_H q B_W^T per channel -> [B, H*W, C], rewiring q's consumers to the result.</summary>
    private static void InsertQueryBlur(ModelProto model, NodeProto query, int height, int width, int channels)
    {
        var q = query.Output[0];
        var prefix = query.Name + "/blur";
        var nodes = new List<NodeProto>();
        string Add(string op, string suffix, params string[] inputs)
        {
            var node = new NodeProto { Name = prefix + suffix, OpType = op, Output = { prefix + suffix + "_out" } };
            node.Input.AddRange(inputs);
            nodes.Add(node);
            return node.Output[0];
        }
        string Shape(string suffix, params long[] dims)
        {
            var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { dims.Length } };
            tensor.Int64Data.AddRange(dims);
            var node = new NodeProto
            {
                Name = prefix + suffix,
                OpType = "Constant",
                Output = { prefix + suffix + "_out" },
                Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor } },
            };
            nodes.Add(node);
            return node.Output[0];
        }
        string Transpose(string suffix, string input)
        {
            var node = new NodeProto
            {
                Name = prefix + suffix,
                OpType = "Transpose",
                Input = { input },
                Output = { prefix + suffix + "_out" },
                Attribute = { new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 2, 1, 3 } } },
            };
            nodes.Add(node);
            return node.Output[0];
        }

        var rows = Add("MatMul", "/rows", "blur_h", Add("Reshape", "/r0", q, Shape("/s0", 0, height, width * channels)));
        var columnsFirst = Transpose("/t0", Add("Reshape", "/r1", rows, Shape("/s1", 0, height, width, channels)));
        var columns = Add("MatMul", "/cols", "blur_w", Add("Reshape", "/r2", columnsFirst, Shape("/s2", 0, width, height * channels)));
        var back = Transpose("/t1", Add("Reshape", "/r3", columns, Shape("/s3", 0, width, height, channels)));
        var blurred = Add("Reshape", "/r4", back, Shape("/s4", 0, height * width, channels));

        foreach (var node in model.Graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == q)
                {
                    node.Input[i] = blurred;
                }
            }
        }
        var at = model.Graph.Node.IndexOf(query) + 1;
        for (var i = 0; i < nodes.Count; i++)
        {
            model.Graph.Node.Insert(at + i, nodes[i]);
        }
    }
}
