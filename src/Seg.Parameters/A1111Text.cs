using System.Text.Json;

namespace Seg.Parameters;

/// <summary>
/// The A1111 "parameters" text of an image, which image viewers and web UIs read: the prompt, the negative prompt,
/// then <c>Label: value</c> pairs, each parameter under its <see cref="ParameterDefinition.Label"/> in
/// <see cref="ParameterDefinitions.All"/> order, then the caller's facts (versions, devices).
/// </summary>
public static class A1111Text
{
    /// <summary>Writes the text.</summary>
    /// <param name="parameters">The image's parameters.</param>
    /// <param name="facts">Pairs after the parameters (<c>ONNX Runtime</c>, <c>Version</c>), in order.</param>
    /// <returns>The text, lines separated by <c>\n</c>.</returns>
    public static string Write(RenderParameters parameters, IEnumerable<KeyValuePair<string, string>> facts)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(facts);
        var lines = new List<string> { parameters.Prompt };
        if (parameters.NegativePrompt.Length > 0)
        {
            lines.Add($"{ParameterDefinitions.NegativePrompt.Label!.Text}: {parameters.NegativePrompt}");
        }
        var entries = ParameterDefinitions.All
            .Where(definition => definition != ParameterDefinitions.NegativePrompt && definition.Label is not null)
            .GroupBy(definition => definition.Label!.Text)
            .Where(group => group.First().Label!.ShownWhen?.Invoke(parameters) ?? true)
            .Select(group => new KeyValuePair<string, string>(group.Key,
                string.Join(group.First().Label!.Joiner, group.Select(definition => definition.FormatValue(definition.ReadValue(parameters))))));
        lines.Add(string.Join(", ", entries.Concat(facts).Select(pair => $"{pair.Key}: {Quote(pair.Value)}")));
        return string.Join("\n", lines);
    }

    /// <summary>A value with a comma, colon or quote is quoted (JSON-style), as A1111 does, so that the pairs still split.</summary>
    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",:\"") >= 0 ? JsonSerializer.Serialize(value) : value;
}
