using Seg.Parameters;

namespace Seg.Coordinator.Web;

/// <summary>
/// The <c>seg render</c> command that renders an image again on one machine: every recorded parameter as the option
/// that sets it, values formatted as the parameters' definitions write them, each quoted for a POSIX shell.
/// </summary>
public static class RenderCommandLine
{
    /// <summary>The command for <paramref name="parameters"/>, writing <paramref name="output"/>.</summary>
    /// <param name="parameters">The image's parameters.</param>
    /// <param name="output">The PNG to write.</param>
    /// <returns>One line.</returns>
    public static string For(RenderParameters parameters, string output)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = parameters;
        var options = new List<(string Option, string Value)>
        {
            ("--model", p.Model),
            ("--prompt", p.Prompt),
            ("--negative-prompt", p.NegativePrompt),
            ("--seed", ParameterDefinitions.Seed.Format(p.Seed)),
            ("--steps", ParameterDefinitions.Steps.Format(p.Steps)),
            ("--scheduler", p.Scheduler),
            ("--guidance-scale", ParameterDefinitions.GuidanceScale.Format(p.GuidanceScale)),
            ("--guidance-rescale", ParameterDefinitions.GuidanceRescale.Format(p.GuidanceRescale)),
            ("--width", ParameterDefinitions.Width.Format(p.Width)),
            ("--height", ParameterDefinitions.Height.Format(p.Height)),
            ("--seg-scale", ParameterDefinitions.SegScale.Format(p.SegScale)),
            ("--seg-sigma", ParameterDefinitions.SegBlurSigma.Format(p.SegBlurSigma)),
            ("--seg-layers", p.SegLayers),
            ("--seg-window", $"{ParameterDefinitions.SegWindowStart.Format(p.SegWindowStart)},{ParameterDefinitions.SegWindowStop.Format(p.SegWindowStop)}"),
        };
        if (p.Vae is { } vae)
        {
            options.Add(("--vae", vae));
        }

        options.Add(("--out", output));
        return "seg render " + string.Join(" ", options.Select(o => $"{o.Option} {Quote(o.Value)}"));
    }

    /// <summary>A value as one shell word: bare when it is plain, else in single quotes.</summary>
    internal static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or ',' or '-' or '_' or '/' or ':' or '=')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
