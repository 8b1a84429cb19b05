using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Contracts.Sweeps;

namespace Seg.Contracts.Json;

/// <summary>Reads and writes a SEG window as <c>[start, stop]</c>; null reads as the full window.</summary>
internal sealed class SegWindowJsonConverter : JsonConverter<SegWindow>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override SegWindow Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return SegWindow.Full;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new FieldJsonException("", $"must be [start, stop] (got {JsonValueReader.Describe(ref reader)})");
        }
        var bounds = new List<double>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            bounds.Add(JsonValueReader.ReadNumber(ref reader, JsonPaths.Index(bounds.Count)));
        }
        return bounds.Count == 2
            ? new SegWindow(bounds[0], bounds[1])
            : throw new FieldJsonException("", $"must be [start, stop] (got {bounds.Count} values)");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, SegWindow value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.Start);
        writer.WriteNumberValue(value.Stop);
        writer.WriteEndArray();
    }
}
