using System.CommandLine;
using Seg.Pipeline;
using Seg.Pipeline.Models;
using Seg.Pipeline.QueryBlur;

namespace Seg.Cli.Commands;

/// <summary><c>seg patch</c>: inserts the SEG query blur into a UNet graph ahead of time.</summary>
internal static class PatchCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var layers = new Option<string>("--layers") { Description = "attn1 layers to blur: mid, down, up, all, or indices such as d0,m0,u3.", DefaultValueFactory = _ => "mid" };
        var output = new Option<string?>("--out") { Description = "Folder for the patched unet model.onnx. Default: the patch cache the pipeline uses." };
        var command = new Command("patch", "Insert the SEG query blur after the chosen attn1 to_q MatMuls of a UNet (external weights stay untouched).")
        {
            model, layers, output,
        };
        command.SetAction(parse =>
        {
            var folder = SdxlModelFolder.Open(CliOptions.ResolveModel(parse.GetValue(model)));
            var selection = SegLayerSelection.Parse(parse.GetValue(layers)!);
            string patchedPath;
            if (parse.GetValue(output) is { } outFolder)
            {
                patchedPath = Path.Combine(Path.GetFullPath(outFolder), "model.onnx");
                UNetSegPatcher.PatchFile(folder.UNetPath, patchedPath, selection);
            }
            else
            {
                patchedPath = PatchedUNetCache.GetOrCreate(folder.UNetPath, selection, new PipelineOptions().PatchCacheFolder);
            }
            var info = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(patchedPath))!;
            Console.Out.WriteLine($"patched {info.PatchedNodes.Count} attn1 layer(s) ({info.Layers}), patch version {info.PatchVersion}: {patchedPath}");
            foreach (var pair in info.Inputs)
            {
                Console.Out.WriteLine($"  grid 1/{pair.Factor}: inputs {pair.RowsInput} (batch, H, H), {pair.ColumnsInput} (batch, W, W), {pair.ElementType}");
            }
            return 0;
        });
        return command;
    }
}
