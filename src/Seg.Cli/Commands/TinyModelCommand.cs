using System.CommandLine;
using Seg.Pipeline.TinyModel;

namespace Seg.Cli.Commands;

/// <summary><c>seg tiny-model OUT [--fp16]</c>: writes the tiny SDXL-shaped model used by tests and the demo.</summary>
internal static class TinyModelCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("out") { Description = "Folder to write the model into." };
        var fp16 = new Option<bool>("--fp16") { Description = "Store fp16 weights and fp16 inputs/outputs, as fp16 exports do." };
        var externalData = new Option<bool>("--external-data") { Description = "Store the UNet weights in unet/model.onnx_data." };
        var command = new Command("tiny-model", "Write a tiny SDXL-shaped ONNX model folder (deterministic weights, real CLIP tokenizers).")
        {
            output, fp16, externalData,
        };
        command.SetAction(parse =>
        {
            var folder = Path.GetFullPath(parse.GetValue(output)!);
            TinySdxlModelWriter.Write(folder, new TinyModelOptions(Fp16: parse.GetValue(fp16), ExternalUNetData: parse.GetValue(externalData)));
            Console.Out.WriteLine($"wrote the tiny SDXL model to {folder}");
            return 0;
        });
        return command;
    }
}
