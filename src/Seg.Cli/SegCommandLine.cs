using System.CommandLine;
using Seg.Cli.Commands;

namespace Seg.Cli;

/// <summary>The <c>seg</c> command and its subcommands.</summary>
public static class SegCommandLine
{
    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Seg farm: Smoothed Energy Guidance for SDXL on ONNX Runtime, from one image to a farm of GPUs.");
        root.Subcommands.Add(RenderCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(TinyModelCommand.Create());
        root.Subcommands.Add(PatchCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        return root;
    }
}
