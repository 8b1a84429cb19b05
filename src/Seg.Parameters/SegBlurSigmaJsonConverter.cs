using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seg.Parameters;

/// <summary>
/// A SEG blur sigma in JSON: a number, or the string <c>"inf"</c> for the infinite blur
/// (<see cref="double.PositiveInfinity"/>). Put on a property, it makes the value survive any
/// <see cref="JsonSerializerOptions"/>, MassTransit's included, which reject <c>Infinity</c> unless
/// <see cref="JsonNumberHandling.AllowNamedFloatingPointLiterals"/> is set. A number in a string (<c>"10"</c>, as
/// provenance written before 0.2 has it) reads as that number.
/// </summary>
public sealed class SegBlurSigmaJsonConverter : JsonConverter<double>
{
    /// <summary>The rule for a token that is not a sigma, phrased to follow the field name.</summary>
    public const string FormRule = "must be a number or \"" + SegBlurSigma.InfinityText + "\"";

    /// <summary>Reads a sigma at the reader's token; false when the token is not one.</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out double sigma)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out sigma) && double.IsFinite(sigma))
        {
            return true;
        }
        sigma = 0;
        return reader.TokenType == JsonTokenType.String && SegBlurSigma.TryParse(reader.GetString()!, out sigma);
    }

    /// <summary>Writes a sigma: a number, or <c>"inf"</c> for <see cref="double.PositiveInfinity"/>.</summary>
    public static void WriteValue(Utf8JsonWriter writer, double sigma)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsPositiveInfinity(sigma))
        {
            writer.WriteStringValue(SegBlurSigma.InfinityText);
        }
        else
        {
            writer.WriteNumberValue(sigma);
        }
    }

    /// <inheritdoc />
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TryRead(ref reader, out var sigma)
            ? sigma
            : throw new JsonException($"{ParameterNames.SegBlurSigma} {FormRule} (got {(reader.TokenType == JsonTokenType.String ? $"\"{reader.GetString()}\"" : reader.TokenType.ToString())})");

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => WriteValue(writer, value);
}
