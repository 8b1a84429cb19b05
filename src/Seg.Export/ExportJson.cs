using System.Globalization;
using System.Text.Json;

namespace Seg.Export;

/// <summary>
/// A sample's columns as one JSON object (a <c>metadata.jsonl</c> line, a WebDataset <c>KEY.json</c>) and back.
/// Numbers are JSON numbers; an infinite double (the infinite blur) is written <c>1e999</c>, a valid JSON number that
/// Python's <c>json</c>, JavaScript and .NET read as +Infinity, so the column keeps one type (a string <c>"inf"</c>
/// among numbers would split it); instants are ISO 8601 UTC text.
/// </summary>
public static class ExportJson
{
    private const string PositiveInfinity = "1e999";

    /// <summary>Writes the columns of <paramref name="values"/> as one JSON object, after <paramref name="first"/> when given.</summary>
    public static byte[] Serialize(object?[] values, (string Name, string Value)? first = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var buffer = new MemoryStream(2048);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (first is { } pair)
            {
                json.WriteString(pair.Name, pair.Value);
            }
            var columns = ExportColumns.All;
            for (var i = 0; i < columns.Count; i++)
            {
                json.WritePropertyName(columns[i].Name);
                WriteValue(json, values[i]);
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads the column values of a JSON object written by <see cref="Serialize"/>.</summary>
    /// <exception cref="ExportException">A column is missing or of the wrong type.</exception>
    public static object?[] Deserialize(ReadOnlySpan<byte> utf8, string what)
    {
        using var document = JsonDocument.Parse(utf8.ToArray());
        var columns = ExportColumns.All;
        var values = new object?[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            var column = columns[i];
            if (!document.RootElement.TryGetProperty(column.Name, out var element))
            {
                throw new ExportException($"{what}: has no field '{column.Name}'");
            }
            try
            {
                values[i] = element.ValueKind == JsonValueKind.Null ? null : column.Type switch
                {
                    ExportType.String => element.GetString(),
                    ExportType.Int32 => element.GetInt32(),
                    ExportType.Int64 => element.GetInt64(),
                    // Parsed from the text: GetDouble refuses 1e999, double.Parse gives +Infinity.
                    ExportType.Double => double.Parse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture),
                    ExportType.Timestamp => element.GetDateTimeOffset().ToUniversalTime(),
                    _ => throw new InvalidOperationException($"unknown column type {column.Type}"),
                };
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ExportException($"{what}: field '{column.Name}' is not a {column.Type} ({e.Message})");
            }
        }
        return values;
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string text:
                json.WriteStringValue(text);
                break;
            case int number:
                json.WriteNumberValue(number);
                break;
            case long number:
                json.WriteNumberValue(number);
                break;
            case double number when double.IsPositiveInfinity(number):
                json.WriteRawValue(PositiveInfinity);
                break;
            case double number when double.IsNegativeInfinity(number):
                json.WriteRawValue("-" + PositiveInfinity);
                break;
            case double number when double.IsNaN(number):
                json.WriteNullValue();
                break;
            case double number:
                json.WriteNumberValue(number);
                break;
            case DateTimeOffset instant:
                json.WriteStringValue(instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
                break;
            default:
                throw new InvalidOperationException($"no JSON form for {value.GetType().Name}");
        }
    }
}
