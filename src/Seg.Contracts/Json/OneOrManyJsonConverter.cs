using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Parameters;

namespace Seg.Contracts.Json;

/// <summary>
/// Reads a list that may be written as a single value (<c>steps: 20</c> means <c>steps: [20]</c>); writes a list.
/// </summary>
internal abstract class OneOrManyJsonConverter<T> : JsonConverter<IReadOnlyList<T>>
{
    /// <summary>Null reaches <see cref="ReadItem"/>, which rejects it with the field's rule.</summary>
    public override bool HandleNull => true;

    /// <summary>Reads one item at the reader's current token.</summary>
    protected abstract T ReadItem(ref Utf8JsonReader reader, string subPath);

    /// <summary>Writes one item.</summary>
    protected abstract void WriteItem(Utf8JsonWriter writer, T value);

    /// <inheritdoc />
    public override IReadOnlyList<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return [ReadItem(ref reader, "")];
        }
        var items = new List<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(ReadItem(ref reader, JsonPaths.Index(items.Count)));
        }
        return items.AsReadOnly();
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, IReadOnlyList<T> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var item in value)
        {
            WriteItem(writer, item);
        }
        writer.WriteEndArray();
    }
}

/// <summary>One text or a list of texts.</summary>
internal sealed class OneOrManyTextJsonConverter : OneOrManyJsonConverter<string>
{
    /// <inheritdoc />
    protected override string ReadItem(ref Utf8JsonReader reader, string subPath) => JsonValueReader.ReadText(ref reader, subPath);

    /// <inheritdoc />
    protected override void WriteItem(Utf8JsonWriter writer, string value) => writer.WriteStringValue(value);
}

/// <summary>One number or a list of numbers.</summary>
internal sealed class OneOrManyNumberJsonConverter : OneOrManyJsonConverter<double>
{
    /// <inheritdoc />
    protected override double ReadItem(ref Utf8JsonReader reader, string subPath) => JsonValueReader.ReadNumber(ref reader, subPath);

    /// <inheritdoc />
    protected override void WriteItem(Utf8JsonWriter writer, double value) => writer.WriteNumberValue(value);
}

/// <summary>One whole number or a list of them.</summary>
internal sealed class OneOrManyIntegerJsonConverter : OneOrManyJsonConverter<int>
{
    /// <inheritdoc />
    protected override int ReadItem(ref Utf8JsonReader reader, string subPath) => JsonValueReader.ReadInteger(ref reader, subPath);

    /// <inheritdoc />
    protected override void WriteItem(Utf8JsonWriter writer, int value) => writer.WriteNumberValue(value);
}

/// <summary>One SEG blur sigma or a list of them; <c>"inf"</c> is the infinite blur.</summary>
internal sealed class OneOrManySigmaJsonConverter : OneOrManyJsonConverter<double>
{
    /// <inheritdoc />
    protected override double ReadItem(ref Utf8JsonReader reader, string subPath) => JsonValueReader.ReadSigma(ref reader, subPath);

    /// <inheritdoc />
    protected override void WriteItem(Utf8JsonWriter writer, double value) => SegBlurSigmaJsonConverter.WriteValue(writer, value);
}
