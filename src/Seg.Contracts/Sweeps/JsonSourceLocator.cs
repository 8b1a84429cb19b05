using System.Text;
using System.Text.Json;
using Seg.Contracts.Json;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Finds where a value sits in JSON text, by JSON path. Used only when reporting an error: System.Text.Json's
/// document model keeps no positions.
/// </summary>
internal static class JsonSourceLocator
{
    /// <summary>The start of the value at <paramref name="path"/> (<c>$.seeds.count</c>), or null when absent.</summary>
    public static SourceLocation? Find(string json, string path)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var containers = new List<Container>();
        var propertyName = "";
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        propertyName = reader.GetString()!;
                        continue;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        containers.RemoveAt(containers.Count - 1);
                        continue;
                }
                var valuePath = containers.Count == 0 ? JsonPaths.Root
                    : containers[^1].IsArray ? containers[^1].Path + JsonPaths.Index(containers[^1].NextIndex++)
                    : containers[^1].Path + JsonPaths.Property(propertyName);
                if (valuePath == path)
                {
                    return At(utf8, reader.TokenStartIndex);
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    containers.Add(new Container(valuePath, reader.TokenType == JsonTokenType.StartArray));
                }
            }
        }
        catch (JsonException)
        {
            // Text that does not parse has no value positions to offer.
        }
        return null;
    }

    /// <summary>
    /// The location of a syntax error that System.Text.Json reports as a 0-based line and a byte offset in it.
    /// </summary>
    public static SourceLocation FromLineAndByte(string json, long line, long bytePositionInLine)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var lineStart = 0;
        for (long seen = 0; seen < line && lineStart < utf8.Length; lineStart++)
        {
            if (utf8[lineStart] == '\n')
            {
                seen++;
            }
        }
        return Locate(utf8, line, lineStart, Math.Min(utf8.Length, lineStart + bytePositionInLine));
    }

    private static SourceLocation At(byte[] utf8, long offset)
    {
        var line = 0L;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (utf8[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return Locate(utf8, line, lineStart, offset);
    }

    /// <summary>Columns count characters, not bytes, so that text in any script before the place does not shift it.</summary>
    private static SourceLocation Locate(byte[] utf8, long line, int lineStart, long offset) =>
        new(line + 1, Encoding.UTF8.GetCharCount(utf8, lineStart, (int)(offset - lineStart)) + 1);

    private sealed class Container(string path, bool isArray)
    {
        public string Path { get; } = path;

        public bool IsArray { get; } = isArray;

        public int NextIndex { get; set; }
    }
}
