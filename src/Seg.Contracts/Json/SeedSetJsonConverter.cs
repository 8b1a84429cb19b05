using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Contracts.Sweeps;

namespace Seg.Contracts.Json;

/// <summary>Reads seeds as a list, a single seed or a <c>{start, count}</c> range; writes them back the same way.</summary>
internal sealed class SeedSetJsonConverter : JsonConverter<SeedSet>
{
    private const string Form = "must be a list of seeds [1, 2, 3] or a range {start: 100, count: 1000}";

    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override SeedSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return SeedSet.None;
            case JsonTokenType.Number:
                return SeedSet.Of([JsonValueReader.ReadInt64(ref reader, "")]);
            case JsonTokenType.StartArray:
                var seeds = new List<long>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    seeds.Add(JsonValueReader.ReadInt64(ref reader, JsonPaths.Index(seeds.Count)));
                }
                return SeedSet.Of(seeds.AsReadOnly());
            case JsonTokenType.StartObject:
                return ReadRange(ref reader);
            default:
                throw new FieldJsonException("", $"{Form} (got {JsonValueReader.Describe(ref reader)})");
        }
    }

    private static SeedSet ReadRange(ref Utf8JsonReader reader)
    {
        long start = 0;
        long? count = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            var subPath = JsonPaths.Property(name);
            reader.Read();
            switch (name)
            {
                case "start":
                    start = JsonValueReader.ReadInt64(ref reader, subPath);
                    break;
                case "count":
                    count = JsonValueReader.ReadInt64(ref reader, subPath);
                    break;
                default:
                    throw new FieldJsonException(subPath, "is not a known field; a seed range has start and count");
            }
        }
        return count is { } known
            ? SeedSet.Range(start, known)
            : throw new FieldJsonException(".count", "is required in a seed range {start: 100, count: 1000}");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, SeedSet value, JsonSerializerOptions options)
    {
        if (value.IsRange)
        {
            writer.WriteStartObject();
            writer.WriteNumber("start", value.Start);
            writer.WriteNumber("count", value.Count);
            writer.WriteEndObject();
            return;
        }
        writer.WriteStartArray();
        foreach (var seed in value.Values)
        {
            writer.WriteNumberValue(seed);
        }
        writer.WriteEndArray();
    }
}
