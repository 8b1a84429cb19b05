using System.Globalization;
using System.Text.Json;
using YamlDotNet.Serialization;

namespace Seg.Coordinator.Web;

/// <summary>A stored sweep definition (JSON) written as YAML, the form people submit sweeps in, with YamlDotNet.</summary>
public static class DefinitionYaml
{
    private static readonly ISerializer Serializer = new SerializerBuilder().Build();

    /// <summary>The definition as YAML, fields in the stored order.</summary>
    /// <param name="definition">The definition as stored.</param>
    /// <returns>YAML text.</returns>
    public static string Write(JsonElement definition) => Serializer.Serialize(Tree(definition));

    // YamlDotNet serializes plain dictionaries, lists and scalars; a JsonElement it would write as its properties.
    private static object? Tree(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => Tree(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(Tree).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? whole : element.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
