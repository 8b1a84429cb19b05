namespace Seg.Parameters;

/// <summary>
/// The snake_case names of the render parameters, as sweeps, message JSON, provenance and database columns spell
/// them. Constants, so that attributes (<c>[JsonPropertyName]</c>) can use them; everything else reads a name from
/// its <see cref="ParameterDefinition"/>.
/// </summary>
public static class ParameterNames
{
    /// <summary>The model.</summary>
    public const string Model = "model";

    /// <summary>The separate VAE.</summary>
    public const string Vae = "vae";

    /// <summary>The prompt of one image.</summary>
    public const string Prompt = "prompt";

    /// <summary>The negative prompt.</summary>
    public const string NegativePrompt = "negative_prompt";

    /// <summary>The noise seed of one image.</summary>
    public const string Seed = "seed";

    /// <summary>Image width.</summary>
    public const string Width = "width";

    /// <summary>Image height.</summary>
    public const string Height = "height";

    /// <summary>Denoising steps.</summary>
    public const string Steps = "steps";

    /// <summary>Scheduler.</summary>
    public const string Scheduler = "scheduler";

    /// <summary>CFG scale.</summary>
    public const string GuidanceScale = "guidance_scale";

    /// <summary>diffusers' guidance_rescale.</summary>
    public const string GuidanceRescale = "guidance_rescale";

    /// <summary>SEG scale.</summary>
    public const string SegScale = "seg_scale";

    /// <summary>SEG blur sigma.</summary>
    public const string SegBlurSigma = "seg_blur_sigma";

    /// <summary>SEG layers.</summary>
    public const string SegLayers = "seg_layers";

    /// <summary>Start of the SEG window.</summary>
    public const string SegWindowStart = "seg_window_start";

    /// <summary>Stop of the SEG window.</summary>
    public const string SegWindowStop = "seg_window_stop";

    /// <summary>The sweep field of the prompts (one per image).</summary>
    public const string Prompts = "prompts";

    /// <summary>The sweep field of the seeds (a list or a range).</summary>
    public const string Seeds = "seeds";

    /// <summary>The sweep field of the image sizes, <c>WIDTHxHEIGHT</c>.</summary>
    public const string Size = "size";

    /// <summary>The sweep field of the SEG window, <c>[start, stop]</c>.</summary>
    public const string SegWindow = "seg_window";
}
