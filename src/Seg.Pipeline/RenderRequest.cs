using System.Globalization;

namespace Seg.Pipeline;

/// <summary>
/// Everything that decides one image (or one image per SEG sigma): the pipeline renders the same bytes for
/// the same request on every machine.
/// </summary>
public sealed record RenderRequest
{
    /// <summary>Smallest accepted width or height in pixels.</summary>
    public const int MinSize = 64;

    /// <summary>Largest accepted width or height in pixels.</summary>
    public const int MaxSize = 4096;

    /// <summary>Largest accepted number of steps.</summary>
    public const int MaxSteps = 1000;

    /// <summary>The prompt; empty is allowed (unconditional SEG).</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The negative prompt; empty means zero embeddings with CFG (SDXL's rule).</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Seed of the CPU torch generator that draws the initial noise.</summary>
    public ulong Seed { get; init; }

    /// <summary>Denoising steps.</summary>
    public int Steps { get; init; } = 30;

    /// <summary>Classifier-free guidance scale; 1 or less turns CFG off.</summary>
    public double GuidanceScale { get; init; } = 5.0;

    /// <summary>diffusers' guidance_rescale (0 = off), applied to the guided prediction.</summary>
    public double GuidanceRescale { get; init; }

    /// <summary>Image width in pixels, a multiple of 8.</summary>
    public int Width { get; init; } = 1024;

    /// <summary>Image height in pixels, a multiple of 8.</summary>
    public int Height { get; init; } = 1024;

    /// <summary>Scheduler name (see <c>SchedulerFactory.Names</c>).</summary>
    public string Scheduler { get; init; } = "euler";

    /// <summary>SEG guidance scale; 0 renders without the blurred branch at all.</summary>
    public double SegScale { get; init; } = 3.0;

    /// <summary>
    /// SEG blur sigma of the query Gaussian; <see cref="double.PositiveInfinity"/> (or anything above 9999)
    /// is the infinite blur, the mean query. Several values render one image each in shared UNet calls.
    /// </summary>
    public IReadOnlyList<double> SegBlurSigmas { get; init; } = [double.PositiveInfinity];

    /// <summary>Layers whose attn1 queries are blurred: <c>mid</c>, <c>down</c>, <c>up</c> or indices such as <c>d0,m0</c>.</summary>
    public string SegLayers { get; init; } = "mid";

    /// <summary>Fraction of the steps at which SEG starts (inclusive).</summary>
    public double SegWindowStart { get; init; }

    /// <summary>Fraction of the steps at which SEG stops (exclusive; 1 = to the last step).</summary>
    public double SegWindowStop { get; init; } = 1.0;

    /// <summary>SDXL micro-conditioning: original size (defaults to the target size).</summary>
    public (int Width, int Height)? OriginalSize { get; init; }

    /// <summary>SDXL micro-conditioning: crop top-left corner (defaults to 0, 0).</summary>
    public (int Top, int Left) CropTopLeft { get; init; }

    /// <summary>Whether the request runs the SEG branch.</summary>
    public bool UsesSeg => SegScale > 0;

    /// <summary>Whether the request runs classifier-free guidance.</summary>
    public bool UsesCfg => GuidanceScale > 1.0;

    /// <summary>
    /// Checks every field; throws for the first broken rule with the field's name and the rule.
    /// </summary>
    /// <param name="knownSchedulers">Accepted scheduler names.</param>
    /// <exception cref="RenderRequestException">A field breaks a rule.</exception>
    public void Validate(IReadOnlyCollection<string> knownSchedulers)
    {
        CheckSize("width", Width);
        CheckSize("height", Height);
        if (Steps <= 0 || Steps > MaxSteps)
        {
            throw new RenderRequestException("steps", $"must be between 1 and {MaxSteps} (got {Steps})");
        }
        CheckNonNegative("guidance_scale", GuidanceScale);
        if (!(GuidanceRescale >= 0 && GuidanceRescale <= 1))
        {
            throw new RenderRequestException("guidance_rescale", $"must be between 0 and 1 (got {Format(GuidanceRescale)})");
        }
        CheckNonNegative("seg_scale", SegScale);
        if (!knownSchedulers.Contains(Scheduler))
        {
            throw new RenderRequestException("scheduler",
                $"must be one of {string.Join(", ", knownSchedulers)} (got '{Scheduler}')");
        }
        if (SegBlurSigmas.Count == 0)
        {
            throw new RenderRequestException("seg_blur_sigma", "must have at least one value");
        }
        for (var i = 0; i < SegBlurSigmas.Count; i++)
        {
            var sigma = SegBlurSigmas[i];
            if (double.IsNaN(sigma) || sigma <= 0)
            {
                throw new RenderRequestException($"seg_blur_sigma[{i}]", $"must be > 0 or inf (got {Format(sigma)})");
            }
        }
        if (!(SegWindowStart >= 0 && SegWindowStart < SegWindowStop && SegWindowStop <= 1))
        {
            throw new RenderRequestException("seg_window",
                $"must satisfy 0 <= start < stop <= 1 (got {Format(SegWindowStart)},{Format(SegWindowStop)})");
        }
        if (string.IsNullOrWhiteSpace(SegLayers))
        {
            throw new RenderRequestException("seg_layers", "must name at least one layer group or index");
        }
        if (OriginalSize is { } original && (original.Width <= 0 || original.Height <= 0))
        {
            throw new RenderRequestException("original_size", $"must be positive (got {original.Width}x{original.Height})");
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

    /// <summary>Formats a sigma as users write it: a number or <c>inf</c>.</summary>
    public static string FormatSigma(double sigma) =>
        double.IsPositiveInfinity(sigma) || sigma > 9999 ? "inf" : Format(sigma);

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void CheckSize(string field, int value)
    {
        if (value % 8 != 0 || value < MinSize || value > MaxSize)
        {
            throw new RenderRequestException(field, $"must be a multiple of 8 between {MinSize} and {MaxSize} (got {value})");
        }
    }

    private static void CheckNonNegative(string field, double value)
    {
        if (double.IsNaN(value) || value < 0 || double.IsInfinity(value))
        {
            throw new RenderRequestException(field, $"must be a finite number >= 0 (got {Format(value)})");
        }
    }
}

/// <summary>A render request field that breaks a rule; <see cref="Field"/> names it.</summary>
public sealed class RenderRequestException : ArgumentException
{
    /// <summary>Creates the exception; the message reads "<paramref name="field"/> <paramref name="rule"/>".</summary>
    public RenderRequestException(string field, string rule) : base($"{field} {rule}", field)
    {
        Field = field;
        Rule = rule;
    }

    /// <summary>The field, in the sweep's snake_case naming.</summary>
    public string Field { get; }

    /// <summary>The rule that was broken.</summary>
    public string Rule { get; }

    /// <summary>The message without ArgumentException's "(Parameter ...)" suffix.</summary>
    public override string Message => $"{Field} {Rule}";
}
