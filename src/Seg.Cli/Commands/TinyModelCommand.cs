using System.CommandLine;
using Seg.Pipeline.TinyModel;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg tiny-model OUT [--fp16] [--external-data] [--profile tiny|sdxl|sdxl-mini]</c>: writes the tiny SDXL-shaped
/// model used by tests and the demo, or a model with SDXL base's UNet sizes and random weights for benchmarks.
/// </summary>
internal static class TinyModelCommand
{
    private static readonly Dictionary<string, ModelProfile> Profiles = new(StringComparer.Ordinal)
    {
        ["tiny"] = ModelProfile.Tiny,
        ["sdxl"] = ModelProfile.Sdxl,
        ["sdxl-mini"] = ModelProfile.SdxlMini,
    };

    public static Command Create()
    {
        var output = new Argument<string>("out") { Description = "Folder to write the model into." };
        var fp16 = new Option<bool>("--fp16") { Description = "Store fp16 weights and fp16 inputs/outputs, as fp16 exports do." };
        var externalData = new Option<bool>("--external-data") { Description = "Store the UNet weights in unet/model.onnx_data." };
        var profile = new Option<string>("--profile")
        {
            Description = "tiny (tests, demo), sdxl (SDXL base's UNet sizes, about 10 GB of random fp32 weights, for benchmarks), " +
                "or sdxl-mini (SDXL's structure at 1/16 width).",
            DefaultValueFactory = _ => "tiny",
        };
        profile.AcceptOnlyFromAmong([.. Profiles.Keys]);
        var command = new Command("tiny-model", "Write a generated SDXL-shaped ONNX model folder (deterministic weights, real CLIP tokenizers).")
        {
            output, fp16, externalData, profile,
        };
        command.SetAction(parse =>
        {
            var folder = Path.GetFullPath(parse.GetValue(output)!);
            var chosen = Profiles[parse.GetValue(profile)!];
            TinySdxlModelWriter.Write(folder, new TinyModelOptions(Fp16: parse.GetValue(fp16), ExternalUNetData: parse.GetValue(externalData), Profile: chosen));
            Console.Out.WriteLine($"wrote the {parse.GetValue(profile)} SDXL model to {folder}");
            return 0;
        });
        return command;
    }
}
