using Seg.Pipeline.Models;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline.UNet;

/// <summary>One pair of blur-operator inputs of a patched UNet and the grid factor they serve.</summary>
/// <param name="RowsInput">Input name of the row operator (batch x H x H).</param>
/// <param name="ColsInput">Input name of the column operator (batch x W x W).</param>
/// <param name="Factor">Grid factor: the layer runs at the latent size halved log2(factor) times.</param>
internal sealed record SegOperatorInputs(string RowsInput, string ColsInput, int Factor);

/// <summary>A UNet patched for one SEG layer selection, its session, and the operator inputs it takes.</summary>
/// <param name="Session">The patched UNet's session.</param>
/// <param name="Layers">The canonical layer selection.</param>
/// <param name="PatchVersion">The patch version, for provenance.</param>
/// <param name="Operators">The blur operator inputs, one pair per grid factor.</param>
/// <param name="Mode">Batched (every item in) or forked (uncond and cond in, the graph forks the blurred rows).</param>
/// <param name="ForkRowsInput">The fork rows input of a forked patch, else null.</param>
internal sealed record SegUNet(UNetSession Session, string Layers, string PatchVersion, IReadOnlyList<SegOperatorInputs> Operators,
    SegPatchMode Mode, string? ForkRowsInput)
{
    public static SegUNet Open(SdxlModelFolder model, SegLayerSelection selection, PipelineOptions options, OnnxSessionFactory sessions)
    {
        var patchedPath = PatchedUNetCache.GetOrCreate(model.UNetPath, selection, options.PatchCacheFolder, options.SegPatchMode);
        var info = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(patchedPath))
            ?? throw new ModelFolderException($"model: the patched UNet '{patchedPath}' carries no SEG patch metadata");
        var session = new UNetSession(patchedPath, sessions, Path.GetDirectoryName(model.UNetPath));
        var operators = info.Inputs.Select(i => new SegOperatorInputs(i.RowsInput, i.ColumnsInput, i.Factor)).ToList();
        var missing = operators.SelectMany(o => new[] { o.RowsInput, o.ColsInput }).Concat(info.ForkRowsInput is { } fork ? [fork] : []).Where(n => !session.ExtraInputNames.Contains(n)).ToList();
        if (missing.Count > 0)
        {
            session.Dispose();
            throw new ModelFolderException($"model: the patched UNet lacks the SEG inputs {string.Join(", ", missing)}");
        }
        return new SegUNet(session, info.Layers, info.PatchVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), operators,
            info.Mode, info.ForkRowsInput);
    }
}
