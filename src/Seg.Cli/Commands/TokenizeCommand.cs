using System.CommandLine;
using System.Text.Json;
using Seg.Pipeline.Text;

namespace Seg.Cli.Commands;

/// <summary><c>seg tokenize PROMPT</c>: both SDXL tokenizers' 77 ids as JSON.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt") { Description = "The prompt to tokenize." };
        var model = CliOptions.Model();
        var command = new Command("tokenize", "Print both SDXL tokenizers' 77 token ids as JSON; warn when the prompt is truncated.")
        {
            prompt, model,
        };
        command.SetAction(parse =>
        {
            var folder = CliOptions.ResolveModel(parse.GetValue(model));
            var first = ClipTokenizer.FromFolder(Path.Combine(folder, "tokenizer"));
            var second = ClipTokenizer.FromFolder(Path.Combine(folder, "tokenizer_2"));
            var text = parse.GetValue(prompt) ?? "";
            var a = first.Encode(text);
            var b = second.Encode(text);
            var json = JsonSerializer.Serialize(new
            {
                prompt = text,
                tokens = a.PromptTokenCount,
                truncated = a.Truncated,
                tokenizer = a.Ids,
                tokenizer_2 = b.Ids,
            });
            Console.Out.WriteLine(json);
            if (a.Truncated)
            {
                Console.Error.WriteLine(
                    $"warning: the prompt has {a.PromptTokenCount} tokens; SDXL keeps the first 75, the rest is ignored");
            }
            return 0;
        });
        return command;
    }
}
