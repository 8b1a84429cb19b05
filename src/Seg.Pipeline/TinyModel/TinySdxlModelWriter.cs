using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Onnx;

namespace Seg.Pipeline.TinyModel;

/// <summary>
/// Writes a tiny but structurally real SDXL model folder in the Optimum/diffusers ONNX layout: two CLIP text
/// encoders, an SDXL-shaped UNet with exporter-style node names (so the SEG patcher finds its attn1 layers),
/// a VAE decoder, both tokenizers and the Euler scheduler config. Random weights from a fixed seed: the same
/// options give the same bytes on every run.
/// </summary>
public static class TinySdxlModelWriter
{
    /// <summary>Name of the UNet's external weight file when <see cref="TinyModelOptions.ExternalUNetData"/> is set.</summary>
    public const string ExternalDataFileName = "model.onnx_data";

    private const string DiffusersVersion = "0.30.0";
    private const string TransformersVersion = "4.44.0";

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        // Hugging Face writes "<|startoftext|>" unescaped.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Creates <paramref name="outputFolder"/> (if needed) and writes every file of the model into it, overwriting.</summary>
    /// <param name="outputFolder">The model folder to write.</param>
    /// <param name="options">Precision, timestep form, external UNet data and weight seed.</param>
    public static void Write(string outputFolder, TinyModelOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.TimestepForm))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"TimestepForm must be one of {string.Join(", ", Enum.GetNames<TimestepForm>())} (got {(int)options.TimestepForm})");
        }

        Directory.CreateDirectory(outputFolder);
        var dtype = options.Fp16 ? "float16" : "float32";
        var architecture = ModelArchitecture.For(options.Profile);
        var label = options.Profile switch
        {
            ModelProfile.Sdxl => "SDXL-sized, random weights",
            ModelProfile.SdxlMini => "SDXL structure at 1/16 width",
            _ => "tiny SDXL",
        };

        // Each component has its own seed so that changing one graph leaves the others' weights alone.
        var textEncoder = new OnnxGraphBuilder(options.Fp16, options.Seed);
        TinyTextEncoderGraphs.BuildClipL(textEncoder, architecture.ClipLHidden);
        WriteModel(Path.Combine(outputFolder, "text_encoder"), textEncoder.ToModel("CLIPTextModel (tiny)"));
        WriteJson(Path.Combine(outputFolder, "text_encoder", "config.json"), TextEncoderConfig(withProjection: false, dtype, architecture.ClipLHidden));

        var textEncoder2 = new OnnxGraphBuilder(options.Fp16, options.Seed + 1);
        TinyTextEncoderGraphs.BuildClipG(textEncoder2, architecture.ClipGHidden);
        WriteModel(Path.Combine(outputFolder, "text_encoder_2"), textEncoder2.ToModel("CLIPTextModelWithProjection (tiny)"));
        WriteJson(Path.Combine(outputFolder, "text_encoder_2", "config.json"), TextEncoderConfig(withProjection: true, dtype, architecture.ClipGHidden));

        // A large UNet cannot be one protobuf (2 GB limit) nor sit in memory: its weights stream to the data file.
        var unetFolder = Path.Combine(outputFolder, "unet");
        Directory.CreateDirectory(unetFolder);
        var dataPath = Path.Combine(unetFolder, ExternalDataFileName);
        var external = options.ExternalUNetData || options.Profile == ModelProfile.Sdxl;
        using (var data = external ? new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20) : null)
        {
            var unet = new OnnxGraphBuilder(options.Fp16, options.Seed + 2, data, ExternalDataFileName);
            new TinyUNetGraph(architecture).Build(unet, options.TimestepForm);
            WriteModel(unetFolder, unet.ToModel($"UNet2DConditionModel ({label})"), keepExternalData: external);
        }
        WriteJson(Path.Combine(unetFolder, "config.json"), UNetConfig(dtype, architecture));

        var vae = new OnnxGraphBuilder(options.Fp16, options.Seed + 3);
        TinyVaeDecoderGraph.Build(vae);
        WriteModel(Path.Combine(outputFolder, "vae_decoder"), vae.ToModel("AutoencoderKL decoder (tiny)"));
        WriteJson(Path.Combine(outputFolder, "vae_decoder", "config.json"), VaeConfig(dtype));

        WriteTokenizer(Path.Combine(outputFolder, "tokenizer"), padToken: "<|endoftext|>", "openai/clip-vit-large-patch14");
        WriteTokenizer(Path.Combine(outputFolder, "tokenizer_2"), padToken: "!", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k");
        WriteJson(Path.Combine(outputFolder, "scheduler", "scheduler_config.json"), SchedulerConfig());
        WriteJson(Path.Combine(outputFolder, "model_index.json"), ModelIndex());
    }

    private static void WriteModel(string folder, ModelProto model, bool keepExternalData = false)
    {
        Directory.CreateDirectory(folder);
        var dataPath = Path.Combine(folder, ExternalDataFileName);
        if (!keepExternalData && File.Exists(dataPath))
        {
            // A stale weight file from an earlier external write would be misleading.
            File.Delete(dataPath);
        }
        using var output = new FileStream(Path.Combine(folder, "model.onnx"), FileMode.Create, FileAccess.Write);
        model.WriteTo(output);
    }

    private static void WriteTokenizer(string folder, string padToken, string nameOrPath)
    {
        Directory.CreateDirectory(folder);
        CopyResource("Seg.Pipeline.clip-tokenizer.vocab.json", Path.Combine(folder, "vocab.json"));
        CopyResource("Seg.Pipeline.clip-tokenizer.merges.txt", Path.Combine(folder, "merges.txt"));

        WriteJson(Path.Combine(folder, "special_tokens_map.json"), new JsonObject
        {
            ["bos_token"] = SpecialToken("<|startoftext|>", withType: false),
            ["eos_token"] = SpecialToken("<|endoftext|>", withType: false),
            ["pad_token"] = padToken,
            ["unk_token"] = SpecialToken("<|endoftext|>", withType: false),
        });
        WriteJson(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
        {
            ["add_prefix_space"] = false,
            ["bos_token"] = SpecialToken("<|startoftext|>", withType: true),
            ["clean_up_tokenization_spaces"] = true,
            ["do_lower_case"] = true,
            ["eos_token"] = SpecialToken("<|endoftext|>", withType: true),
            ["errors"] = "replace",
            ["model_max_length"] = TinyTextEncoderGraphs.MaxPositions,
            ["name_or_path"] = nameOrPath,
            ["pad_token"] = padToken,
            ["special_tokens_map_file"] = "./special_tokens_map.json",
            ["tokenizer_class"] = "CLIPTokenizer",
            ["unk_token"] = SpecialToken("<|endoftext|>", withType: true),
        });
    }

    private static JsonObject SpecialToken(string content, bool withType)
    {
        var token = new JsonObject();
        if (withType)
        {
            token["__type"] = "AddedToken";
        }
        token["content"] = content;
        token["lstrip"] = false;
        token["normalized"] = true;
        token["rstrip"] = false;
        token["single_word"] = false;
        return token;
    }

    private static void CopyResource(string name, string path)
    {
        using var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from Seg.Pipeline.");
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        resource.CopyTo(file);
    }

    private static JsonObject ModelIndex() => new()
    {
        ["_class_name"] = "StableDiffusionXLPipeline",
        ["_diffusers_version"] = DiffusersVersion,
        ["force_zeros_for_empty_prompt"] = true,
        ["scheduler"] = Pair("diffusers", "EulerDiscreteScheduler"),
        ["text_encoder"] = Pair("transformers", "CLIPTextModel"),
        ["text_encoder_2"] = Pair("transformers", "CLIPTextModelWithProjection"),
        ["tokenizer"] = Pair("transformers", "CLIPTokenizer"),
        ["tokenizer_2"] = Pair("transformers", "CLIPTokenizer"),
        ["unet"] = Pair("diffusers", "UNet2DConditionModel"),
        ["vae_decoder"] = Pair("diffusers", "AutoencoderKL"),
    };

    private static JsonArray Pair(string library, string className) => [library, className];

    // Decimal literals keep Python's spelling of floats (1.0, 0.00085) in the JSON.
    private static JsonObject SchedulerConfig() => new()
    {
        ["_class_name"] = "EulerDiscreteScheduler",
        ["_diffusers_version"] = DiffusersVersion,
        ["beta_end"] = 0.012m,
        ["beta_schedule"] = "scaled_linear",
        ["beta_start"] = 0.00085m,
        ["clip_sample"] = false,
        ["interpolation_type"] = "linear",
        ["num_train_timesteps"] = 1000,
        ["prediction_type"] = "epsilon",
        ["sample_max_value"] = 1.0m,
        ["set_alpha_to_one"] = false,
        ["skip_prk_steps"] = true,
        ["steps_offset"] = 1,
        ["timestep_spacing"] = "leading",
        ["trained_betas"] = null,
        ["use_karras_sigmas"] = false,
    };

    private static JsonObject TextEncoderConfig(bool withProjection, string dtype, int hidden)
    {
        return new JsonObject
        {
            ["architectures"] = new JsonArray(withProjection ? "CLIPTextModelWithProjection" : "CLIPTextModel"),
            ["attention_dropout"] = 0.0m,
            ["bos_token_id"] = 0,
            ["dropout"] = 0.0m,
            ["eos_token_id"] = 2,
            ["hidden_act"] = withProjection ? "gelu" : "quick_gelu",
            ["hidden_size"] = hidden,
            ["initializer_factor"] = 1.0m,
            ["initializer_range"] = 0.02m,
            ["intermediate_size"] = hidden * 4,
            ["layer_norm_eps"] = 0.00001m,
            ["max_position_embeddings"] = TinyTextEncoderGraphs.MaxPositions,
            ["model_type"] = "clip_text_model",
            ["num_attention_heads"] = TinyTextEncoderGraphs.Heads,
            ["num_hidden_layers"] = TinyTextEncoderGraphs.Layers,
            ["pad_token_id"] = 1,
            ["projection_dim"] = hidden,
            ["torch_dtype"] = dtype,
            ["transformers_version"] = TransformersVersion,
            ["vocab_size"] = TinyTextEncoderGraphs.VocabSize,
        };
    }

    private static JsonObject UNetConfig(string dtype, ModelArchitecture a) => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["_diffusers_version"] = DiffusersVersion,
        ["act_fn"] = "silu",
        ["addition_embed_type"] = "text_time",
        ["addition_time_embed_dim"] = a.AdditionTimeEmbedDim,
        ["attention_head_dim"] = new JsonArray(a.BlockOutChannels.Select(c => (JsonNode?)(c / a.HeadDim)).ToArray()),
        ["block_out_channels"] = new JsonArray(a.BlockOutChannels.Select(c => (JsonNode?)c).ToArray()),
        ["center_input_sample"] = false,
        ["cross_attention_dim"] = a.CrossAttentionDim,
        ["down_block_types"] = new JsonArray("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        ["downsample_padding"] = 1,
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["in_channels"] = TinyUNetGraph.LatentChannels,
        ["layers_per_block"] = a.LayersPerBlock,
        ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
        ["norm_eps"] = 0.00001m,
        ["norm_num_groups"] = a.Groups,
        ["out_channels"] = TinyUNetGraph.LatentChannels,
        ["projection_class_embeddings_input_dim"] = a.PooledDim + (TinyUNetGraph.TimeIdCount * a.AdditionTimeEmbedDim),
        // diffusers' default size = sample_size * 8: 256x256 for the tiny model (seconds on a CPU), 1024x1024 for SDXL.
        ["sample_size"] = a.SampleSize,
        ["torch_dtype"] = dtype,
        ["transformer_layers_per_block"] = new JsonArray(a.DownTransformerDepth.Select(d => (JsonNode?)Math.Max(d, 1)).ToArray()),
        ["up_block_types"] = new JsonArray("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        ["upcast_attention"] = false,
        ["use_linear_projection"] = true,
    };

    private static JsonObject VaeConfig(string dtype) => new()
    {
        ["_class_name"] = "AutoencoderKL",
        ["_diffusers_version"] = DiffusersVersion,
        ["act_fn"] = "silu",
        ["block_out_channels"] = new JsonArray(TinyVaeDecoderGraph.UpChannels.Reverse().Select(c => (JsonNode?)c).ToArray()),
        ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
        ["force_upcast"] = true,
        ["in_channels"] = 3,
        ["latent_channels"] = TinyVaeDecoderGraph.LatentChannels,
        // The decoder has layers_per_block + 1 resnets per up block: one here.
        ["layers_per_block"] = 0,
        ["mid_block_add_attention"] = false,
        ["norm_num_groups"] = TinyVaeDecoderGraph.Groups,
        ["out_channels"] = 3,
        ["sample_size"] = 256,
        ["scaling_factor"] = 0.13025m,
        ["torch_dtype"] = dtype,
        ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
    };

    private static void WriteJson(string path, JsonObject json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        using (var writer = new Utf8JsonWriter(file, JsonOptions))
        {
            json.WriteTo(writer);
        }
        file.WriteByte((byte)'\n');
    }
}
