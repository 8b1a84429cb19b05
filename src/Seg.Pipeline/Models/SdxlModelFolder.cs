using System.Text.Json;
using System.Text.Json.Nodes;
using Seg.Parameters;

namespace Seg.Pipeline.Models;

/// <summary>
/// The Optimum/diffusers ONNX layout of an SDXL model: <c>text_encoder/</c>, <c>text_encoder_2/</c>,
/// <c>unet/</c>, <c>vae_decoder/</c> (each <c>model.onnx</c>, maybe with external data), <c>tokenizer/</c>,
/// <c>tokenizer_2/</c> and <c>scheduler/scheduler_config.json</c>. Construction checks that every file is there.
/// </summary>
public sealed record SdxlModelFolder
{
    /// <summary>The SDXL VAE scaling factor, used when the VAE folder has no config.</summary>
    public const double DefaultVaeScalingFactor = 0.13025;

    private SdxlModelFolder(string root, string vaeDecoderFolder)
    {
        Root = root;
        VaeDecoderFolder = vaeDecoderFolder;
    }

    /// <summary>The model folder.</summary>
    public string Root { get; }

    /// <summary>The folder of the VAE decoder in use (the model's own, or a separately given fp32 VAE).</summary>
    public string VaeDecoderFolder { get; }

    /// <summary>First text encoder (CLIP ViT-L).</summary>
    public string TextEncoderPath => Path.Combine(Root, "text_encoder", "model.onnx");

    /// <summary>Second text encoder (OpenCLIP ViT-bigG).</summary>
    public string TextEncoder2Path => Path.Combine(Root, "text_encoder_2", "model.onnx");

    /// <summary>The UNet graph.</summary>
    public string UNetPath => Path.Combine(Root, "unet", "model.onnx");

    /// <summary>The VAE decoder graph.</summary>
    public string VaeDecoderPath => Path.Combine(VaeDecoderFolder, "model.onnx");

    /// <summary>Tokenizer folder of the first encoder.</summary>
    public string TokenizerFolder => Path.Combine(Root, "tokenizer");

    /// <summary>Tokenizer folder of the second encoder.</summary>
    public string Tokenizer2Folder => Path.Combine(Root, "tokenizer_2");

    /// <summary>The scheduler configuration.</summary>
    public string SchedulerConfigPath => Path.Combine(Root, "scheduler", "scheduler_config.json");

    /// <summary>A short name for provenance: the folder's name.</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Root));

    /// <summary>
    /// Opens a model folder and checks the layout. <paramref name="vaeFolder"/> optionally replaces the VAE
    /// decoder (fp16 SDXL VAEs overflow; users pass an fp32 one).
    /// </summary>
    /// <exception cref="ModelFolderException">The folder or a required file is missing.</exception>
    public static SdxlModelFolder Open(string folder, string? vaeFolder = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new ModelFolderException($"model: folder '{root}' does not exist");
        }

        var vae = vaeFolder is null ? Path.Combine(root, "vae_decoder") : Path.GetFullPath(vaeFolder);
        if (vaeFolder is not null && !Directory.Exists(vae))
        {
            throw new ModelFolderException($"vae: folder '{vae}' does not exist");
        }

        var model = new SdxlModelFolder(root, vae);
        foreach (var (field, path) in model.RequiredFiles())
        {
            if (!File.Exists(path))
            {
                throw new ModelFolderException(
                    $"{field}: model folder '{root}' is missing {Path.GetRelativePath(root, path)} " +
                    "(expected the Optimum/diffusers ONNX layout)");
            }
        }
        return model;
    }

    /// <summary>Every file the pipeline needs, with the field name used in error messages.</summary>
    public IEnumerable<(string Field, string Path)> RequiredFiles()
    {
        yield return ("model", TextEncoderPath);
        yield return ("model", TextEncoder2Path);
        yield return ("model", UNetPath);
        yield return ("vae", VaeDecoderPath);
        yield return ("model", Path.Combine(TokenizerFolder, "vocab.json"));
        yield return ("model", Path.Combine(TokenizerFolder, "merges.txt"));
        yield return ("model", Path.Combine(Tokenizer2Folder, "vocab.json"));
        yield return ("model", Path.Combine(Tokenizer2Folder, "merges.txt"));
        yield return ("model", SchedulerConfigPath);
    }

    /// <summary>
    /// The VAE scaling factor from the VAE folder's <c>config.json</c>, or SDXL's 0.13025 when absent.
    /// </summary>
    public double ReadVaeScalingFactor()
    {
        var config = Path.Combine(VaeDecoderFolder, "config.json");
        if (!File.Exists(config))
        {
            return DefaultVaeScalingFactor;
        }
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(config));
            return node?["scaling_factor"]?.GetValue<double>() ?? DefaultVaeScalingFactor;
        }
        catch (JsonException ex)
        {
            throw new ModelFolderException($"vae: '{config}' is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The default image size as diffusers chooses it: the UNet config's <c>sample_size</c> times 8 (SDXL: 1024),
    /// or 1024 when the config is absent.
    /// </summary>
    public int ReadDefaultImageSize()
    {
        var config = Path.Combine(Root, "unet", "config.json");
        if (!File.Exists(config))
        {
            return ParameterDefinitions.DefaultSide;
        }
        try
        {
            var sampleSize = JsonNode.Parse(File.ReadAllText(config))?["sample_size"];
            return sampleSize is JsonValue value && value.TryGetValue<int>(out var size) && size > 0 ? size * ParameterDefinitions.SideMultiple : ParameterDefinitions.DefaultSide;
        }
        catch (JsonException ex)
        {
            throw new ModelFolderException($"model: '{config}' is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Whether an empty negative prompt means zero embeddings (<c>force_zeros_for_empty_prompt</c> in
    /// <c>model_index.json</c>; SDXL base sets it, and so do we when the file is absent).
    /// </summary>
    public bool ReadForceZerosForEmptyPrompt()
    {
        var index = Path.Combine(Root, "model_index.json");
        if (!File.Exists(index))
        {
            return true;
        }
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(index));
            return node?["force_zeros_for_empty_prompt"]?.GetValue<bool>() ?? true;
        }
        catch (JsonException ex)
        {
            throw new ModelFolderException($"model: '{index}' is not valid JSON: {ex.Message}", ex);
        }
    }
}
