using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Seg.Contracts.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Turns a YAML sweep into the JSON tree that System.Text.Json reads, so that YAML and JSON share one mapping and
/// one set of converters. Plain scalars are typed by the YAML 1.2 core schema (null, true/false, integers, floats;
/// everything else, <c>inf</c> included, stays text). Records where each value starts, by JSON path, for errors.
/// </summary>
internal static partial class YamlToJson
{
    /// <summary>Cap on values after alias expansion, against alias bombs; far above a million explicit seeds.</summary>
    private const int MaxValues = 2_000_000;

    private const string StringTag = "tag:yaml.org,2002:str";

    /// <summary>Converts the one document of <paramref name="yaml"/>; null when it has none.</summary>
    /// <exception cref="YamlException">The text is not valid YAML.</exception>
    /// <exception cref="SweepFormatException">The document cannot be a sweep (several documents, complex keys).</exception>
    public static JsonNode? Convert(string yaml, IDictionary<string, SourceLocation> locations)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0)
        {
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            throw new SweepFormatException(ValidationError.Sweep, $"must be one YAML document (found {stream.Documents.Count})");
        }
        var root = stream.Documents[0].RootNode;
        if (ExpandedSize(root, new Dictionary<YamlNode, long>(ReferenceEqualityComparer.Instance)) > MaxValues)
        {
            throw new SweepFormatException(ValidationError.Sweep, $"has more than {MaxValues} values (do YAML aliases expand too far?)");
        }
        return ToJson(root, JsonPaths.Root, locations);
    }

    /// <summary>
    /// How many values the tree holds once aliases are expanded, counted before expanding: an alias is the same
    /// node object at each use, so sizes are memoised per node. Capped just above the limit so sums cannot overflow.
    /// </summary>
    private static long ExpandedSize(YamlNode node, Dictionary<YamlNode, long> sizes)
    {
        if (!sizes.TryGetValue(node, out var size))
        {
            var children = node switch
            {
                YamlSequenceNode sequence => sequence.Children.Sum(child => ExpandedSize(child, sizes)),
                YamlMappingNode mapping => mapping.Children.Sum(pair => ExpandedSize(pair.Value, sizes)),
                _ => 0,
            };
            size = Math.Min(1 + children, MaxValues + 1L);
            sizes[node] = size;
        }
        return size;
    }

    private static JsonNode? ToJson(YamlNode node, string path, IDictionary<string, SourceLocation> locations)
    {
        locations[path] = new SourceLocation(node.Start.Line, node.Start.Column);
        switch (node)
        {
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item, path + JsonPaths.Index(array.Count), locations));
                }
                return array;
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                    {
                        throw new SweepFormatException(JsonPaths.ToFieldName(path, ValidationError.Sweep),
                            $"has a key that is not a plain name at {new SourceLocation(keyNode.Start.Line, keyNode.Start.Column)}");
                    }
                    if (obj.ContainsKey(key))
                    {
                        throw new SweepFormatException(JsonPaths.ToFieldName(path + JsonPaths.Property(key), ValidationError.Sweep),
                            $"appears twice (again at {new SourceLocation(keyNode.Start.Line, keyNode.Start.Column)})");
                    }
                    obj[key] = ToJson(valueNode, path + JsonPaths.Property(key), locations);
                }
                return obj;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new SweepFormatException(JsonPaths.ToFieldName(path, ValidationError.Sweep), $"has an unsupported YAML node ({node.NodeType})");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && scalar.Tag.Value == StringTag))
        {
            return JsonValue.Create(text);
        }
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (JsonNumber().IsMatch(text))
        {
            // Keeps the exact digits, as a JSON file would (a seed near 2^63 must not pass through a double).
            return JsonNode.Parse(text);
        }
        if (YamlInteger().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }
        if (YamlFloat().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonValue.Create(real);
        }
        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumber();

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex YamlInteger();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex YamlFloat();
}
