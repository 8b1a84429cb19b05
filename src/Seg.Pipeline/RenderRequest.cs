using Seg.Parameters;

namespace Seg.Pipeline;

/// <summary>
/// Everything that decides one image (or one image per SEG sigma): the pipeline renders the same bytes for
/// the same request on every machine. The image's values are a <see cref="RenderParameters"/>, whose defaults,
/// limits and rules are <see cref="ParameterDefinitions"/>'; the properties below read and set them. Its model and
/// VAE are the pipeline's own (the folder it was loaded from, <see cref="PipelineOptions.VaeFolder"/>).
/// </summary>
public sealed record RenderRequest
{
    private IReadOnlyList<double>? _segBlurSigmas;

    /// <summary>The parameters <see cref="For"/> checked; the pipeline does not check them again.</summary>
    private RenderParameters? _checked;

    /// <summary>The image's parameters; <see cref="ParameterDefinitions.Defaults"/> unless set.</summary>
    public RenderParameters Parameters { get; init; } = ParameterDefinitions.Defaults;

    /// <summary>The prompt; empty is allowed (unconditional SEG).</summary>
    public string Prompt { get => Parameters.Prompt; init => Parameters = Parameters with { Prompt = value }; }

    /// <summary>The negative prompt; empty means zero embeddings with CFG (SDXL's rule).</summary>
    public string NegativePrompt { get => Parameters.NegativePrompt; init => Parameters = Parameters with { NegativePrompt = value }; }

    /// <summary>Seed of the CPU torch generator that draws the initial noise.</summary>
    public long Seed { get => Parameters.Seed; init => Parameters = Parameters with { Seed = value }; }

    /// <summary>Denoising steps.</summary>
    public int Steps { get => Parameters.Steps; init => Parameters = Parameters with { Steps = value }; }

    /// <summary>Classifier-free guidance scale; 1 or less turns CFG off.</summary>
    public double GuidanceScale { get => Parameters.GuidanceScale; init => Parameters = Parameters with { GuidanceScale = value }; }

    /// <summary>diffusers' guidance_rescale (0 = off), applied to the guided prediction.</summary>
    public double GuidanceRescale { get => Parameters.GuidanceRescale; init => Parameters = Parameters with { GuidanceRescale = value }; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get => Parameters.Width; init => Parameters = Parameters with { Width = value }; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get => Parameters.Height; init => Parameters = Parameters with { Height = value }; }

    /// <summary>Scheduler name (<see cref="SchedulerNames"/>).</summary>
    public string Scheduler { get => Parameters.Scheduler; init => Parameters = Parameters with { Scheduler = value }; }

    /// <summary>SEG guidance scale; 0 renders without the blurred branch at all.</summary>
    public double SegScale { get => Parameters.SegScale; init => Parameters = Parameters with { SegScale = value }; }

    /// <summary>
    /// SEG blur sigmas of the query Gaussian, one image each in shared UNet calls; <see cref="double.PositiveInfinity"/>
    /// (see <see cref="SegBlurSigma"/>) is the infinite blur, the mean query. Unless set, the one sigma of
    /// <see cref="Parameters"/>.
    /// </summary>
    public IReadOnlyList<double> SegBlurSigmas { get => _segBlurSigmas ?? [Parameters.SegBlurSigma]; init => _segBlurSigmas = value; }

    /// <summary>Layers whose attn1 queries are blurred: <c>mid</c>, <c>down</c>, <c>up</c> or indices such as <c>d0,m0</c>.</summary>
    public string SegLayers { get => Parameters.SegLayers; init => Parameters = Parameters with { SegLayers = value }; }

    /// <summary>Fraction of the steps at which SEG starts (inclusive).</summary>
    public double SegWindowStart { get => Parameters.SegWindowStart; init => Parameters = Parameters with { SegWindowStart = value }; }

    /// <summary>Fraction of the steps at which SEG stops (exclusive; 1 = to the last step).</summary>
    public double SegWindowStop { get => Parameters.SegWindowStop; init => Parameters = Parameters with { SegWindowStop = value }; }

    /// <summary>SDXL micro-conditioning: original size (defaults to the target size).</summary>
    public (int Width, int Height)? OriginalSize { get; init; }

    /// <summary>SDXL micro-conditioning: crop top-left corner (defaults to 0, 0).</summary>
    public (int Top, int Left) CropTopLeft { get; init; }

    /// <summary>Whether the request runs the SEG branch.</summary>
    public bool UsesSeg => SegScale > 0;

    /// <summary>Whether the request runs classifier-free guidance.</summary>
    public bool UsesCfg => GuidanceScale > 1.0;

    /// <summary>
    /// The request for one image of <paramref name="parameters"/> (a task's), checked once here against every
    /// parameter's rule, so that the pipeline does not check it again.
    /// </summary>
    /// <exception cref="RenderRequestException">A parameter breaks its rule; the exception lists every broken rule.</exception>
    public static RenderRequest For(RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var errors = parameters.Validate();
        return errors.Count == 0 ? new RenderRequest { Parameters = parameters, _checked = parameters } : throw new RenderRequestException(errors);
    }

    /// <summary>The parameters of the image at one of the request's sigmas.</summary>
    public RenderParameters ForSigma(double sigma) => Parameters with { SegBlurSigma = sigma };

    /// <summary>
    /// Checks every parameter against its rule (<see cref="RenderParameters.Validate"/>) at each sigma, unless
    /// <see cref="For"/> checked these very parameters, and the micro-conditioning.
    /// </summary>
    /// <exception cref="RenderRequestException">A field breaks a rule; the exception lists every broken rule.</exception>
    public void Validate()
    {
        var errors = new List<ParameterError>();
        if (SegBlurSigmas.Count == 0)
        {
            errors.Add(new ParameterError(ParameterNames.SegBlurSigma, "must have at least one value"));
        }
        else if (!ReferenceEquals(_checked, Parameters) || SegBlurSigmas.Any(sigma => !sigma.Equals(Parameters.SegBlurSigma)))
        {
            // The model and the VAE are the pipeline's own: they are not the request's to break.
            errors.AddRange(SegBlurSigmas.SelectMany(sigma => ForSigma(sigma).Validate())
                .Where(error => error.Field is not (ParameterNames.Model or ParameterNames.Vae))
                .Distinct());
        }
        if (OriginalSize is { } original && (original.Width <= 0 || original.Height <= 0))
        {
            errors.Add(new ParameterError("original_size", $"must be positive (got {original.Width}x{original.Height})"));
        }
        if (errors.Count > 0)
        {
            throw new RenderRequestException(errors);
        }
    }

    /// <summary>Whether SEG applies at the given step, by the guidance window.</summary>
    public bool SegActiveAt(int stepIndex)
    {
        if (!UsesSeg)
        {
            return false;
        }
        var fraction = (double)stepIndex / Steps;
        return fraction >= SegWindowStart && fraction < SegWindowStop;
    }
}
