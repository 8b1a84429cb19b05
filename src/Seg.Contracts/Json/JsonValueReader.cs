using System.Buffers;
using System.Text;
using System.Text.Json;
using Seg.Parameters;

namespace Seg.Contracts.Json;

/// <summary>
/// Reads one scalar for the contract converters, with messages that name the rule and what was found, so that a
/// sweep author reads "seg_scale[1] must be a number (got "high")" instead of a serializer type name.
/// </summary>
internal static class JsonValueReader
{
    /// <summary>
    /// Text; numbers and booleans are taken as their text, because YAML turns <c>name: 2024</c> or
    /// <c>size: 1024</c> into numbers and the author meant text.
    /// </summary>
    public static string ReadText(ref Utf8JsonReader reader, string subPath) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString()!,
        JsonTokenType.Number => RawText(ref reader),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => throw new FieldJsonException(subPath, $"must be text (got {Describe(ref reader)})"),
    };

    /// <summary>A finite number.</summary>
    public static double ReadNumber(ref Utf8JsonReader reader, string subPath) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var value) && double.IsFinite(value)
            ? value
            : throw new FieldJsonException(subPath, $"must be a number (got {Describe(ref reader)})");

    /// <summary>A whole number that fits in 32 bits.</summary>
    public static int ReadInteger(ref Utf8JsonReader reader, string subPath) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new FieldJsonException(subPath, $"must be a whole number (got {Describe(ref reader)})");

    /// <summary>A whole number that fits in 64 bits (seeds and seed ranges).</summary>
    public static long ReadInt64(ref Utf8JsonReader reader, string subPath) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value)
            ? value
            : throw new FieldJsonException(subPath, $"{ParameterDefinitions.SeedRule} (got {Describe(ref reader)})");

    /// <summary>
    /// A SEG blur sigma: a number, or <c>"inf"</c> for the infinite blur (also YAML's <c>.inf</c> and .NET's
    /// <c>Infinity</c>), read as <see cref="double.PositiveInfinity"/> by the parameter's own converter.
    /// </summary>
    public static double ReadSigma(ref Utf8JsonReader reader, string subPath) =>
        SegBlurSigmaJsonConverter.TryRead(ref reader, out var sigma)
            ? sigma
            : throw new FieldJsonException(subPath, $"{SegBlurSigmaJsonConverter.FormRule} (got {Describe(ref reader)})");

    /// <summary>A short description of the current token for an error message.</summary>
    public static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => Quote(reader.GetString()!),
        JsonTokenType.Number => RawText(ref reader),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "nothing",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.StartObject => "a mapping",
        var other => other.ToString(),
    };

    private static string Quote(string text) => text.Length <= 40 ? $"\"{text}\"" : $"\"{text[..40]}...\"";

    private static string RawText(ref Utf8JsonReader reader) =>
        Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
}
