using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Seg.Contracts.Json;
using YamlDotNet.Core;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Reads a sweep from YAML or JSON. Both go through one JSON tree and one set of converters, so they accept the
/// same fields and values. Malformed input never throws: it gives errors that name the field (with its index or
/// key) and, where the text has one, the line and column. Use <see cref="SweepValidator"/> (or
/// <see cref="ParseAndValidate"/>) for the rules on values.
/// </summary>
public static partial class SweepParser
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        AllowDuplicateProperties = false,
        MaxDepth = SweepTextRules.MaxDepth,
    };

    /// <summary>The field names, in declaration order, as the property attributes give them.</summary>
    private static readonly string[] KnownFields =
        [.. Options.GetTypeInfo(typeof(SweepDefinition)).Properties.Select(property => property.Name)];

    /// <summary>Reads a sweep written in YAML.</summary>
    public static SweepParseResult ParseYaml(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var locations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        JsonNode? root;
        try
        {
            if (SweepTextRules.CheckYamlDepth(yaml) is { } tooDeep)
            {
                return SweepParseResult.Failure([tooDeep]);
            }

            root = YamlToJson.Convert(yaml, locations);
        }
        catch (YamlException e)
        {
            return SweepParseResult.Failure(ValidationError.Sweep,
                $"is not valid YAML at {new SourceLocation(e.Start.Line, e.Start.Column)}: {e.Message}");
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 18.1 throws this, without a position, for some unclosed flow collections ("a: [1, 2").
            return SweepParseResult.Failure(ValidationError.Sweep, "is not valid YAML: look for an unclosed [ or {");
        }
        catch (SweepFormatException e)
        {
            return SweepParseResult.Failure(e.Field, e.Rule);
        }
        return Read(root, path => locations.TryGetValue(path, out var location) ? location : null);
    }

    /// <summary>Reads a sweep written in JSON (comments and trailing commas are allowed).</summary>
    public static SweepParseResult ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            var at = e.LineNumber is { } line && e.BytePositionInLine is { } bytes
                ? $" at {JsonSourceLocator.FromLineAndByte(json, line, bytes)}"
                : "";
            return SweepParseResult.Failure(ValidationError.Sweep, $"is not valid JSON{at}: {WithoutPosition(e.Message)}");
        }
        catch (InvalidOperationException)
        {
            // The duplicate-key check decodes every property name and throws this for an escape such as "\udc00".
            return SweepParseResult.Failure(ValidationError.Sweep, "must be valid Unicode text (a key's escape leaves a UTF-16 surrogate unpaired)");
        }
        return Read(root, path => JsonSourceLocator.Find(json, path));
    }

    /// <summary>
    /// Reads a sweep in the format that <paramref name="fileNameOrContentType"/> names (<c>sweep.yaml</c>,
    /// <c>.json</c>, <c>application/json</c>, <c>application/yaml</c>); without a usable hint, text that starts with
    /// <c>{</c> is JSON and anything else YAML.
    /// </summary>
    public static SweepParseResult Parse(string text, string? fileNameOrContentType)
    {
        ArgumentNullException.ThrowIfNull(text);
        return IsJson(text, fileNameOrContentType) ? ParseJson(text) : ParseYaml(text);
    }

    /// <summary>
    /// <see cref="Parse"/> then <see cref="SweepValidator.Validate(SweepDefinition, SweepLimits?)"/>: the one call
    /// for an API or a command line that takes a sweep from a user.
    /// </summary>
    public static SweepParseResult ParseAndValidate(string text, string? fileNameOrContentType, SweepLimits? limits = null)
    {
        var parsed = Parse(text, fileNameOrContentType);
        if (!parsed.Succeeded)
        {
            return parsed;
        }
        var errors = SweepValidator.Validate(parsed.Definition, limits);
        return errors.Count == 0 ? parsed : SweepParseResult.Failure(errors);
    }

    /// <summary>Writes a sweep as JSON in the same format the parser reads (e.g. to store it with the sweep).</summary>
    public static string ToJson(SweepDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return JsonSerializer.Serialize(definition, Options);
    }

    private static bool IsJson(string text, string? hint)
    {
        var extension = Path.GetExtension(hint ?? "").ToLowerInvariant();
        if (extension is ".json" or ".yaml" or ".yml")
        {
            return extension == ".json";
        }
        if (hint is not null && (hint.Contains("json", StringComparison.OrdinalIgnoreCase) || hint.Contains("yaml", StringComparison.OrdinalIgnoreCase)))
        {
            return hint.Contains("json", StringComparison.OrdinalIgnoreCase);
        }
        return text.AsSpan().TrimStart().StartsWith("{");
    }

    private static SweepParseResult Read(JsonNode? root, Func<string, SourceLocation?> locate)
    {
        if (root is not JsonObject fields)
        {
            var found = root switch { null => "an empty document", JsonArray => "a list", _ => "a single value" };
            return SweepParseResult.Failure(ValidationError.Sweep, $"must be a mapping of sweep fields such as model, prompts and seeds (got {found})");
        }
        var badText = SweepTextRules.CheckStrings(fields);
        if (badText.Count > 0)
        {
            return SweepParseResult.Failure(badText);
        }

        var unknown = fields
            .Where(field => !KnownFields.Contains(field.Key))
            .Select(field => new ValidationError(field.Key,
                $"is not a known field{At(locate(JsonPaths.Root + JsonPaths.Property(field.Key)))}; the fields are {string.Join(", ", KnownFields)}"))
            .ToList();
        if (unknown.Count > 0)
        {
            return SweepParseResult.Failure(unknown);
        }
        try
        {
            return SweepParseResult.Success(fields.Deserialize<SweepDefinition>(Options)!);
        }
        catch (JsonException e)
        {
            var path = (e.Path ?? JsonPaths.Root) + (e as FieldJsonException)?.SubPath;
            var rule = e is FieldJsonException field ? field.Rule : $"has the wrong form: {WithoutPosition(e.Message)}";
            return SweepParseResult.Failure(JsonPaths.ToFieldName(path, ValidationError.Sweep), rule + At(locate(path)));
        }
    }

    private static string At(SourceLocation? location) => location is { } known ? $" at {known}" : "";

    private static string WithoutPosition(string message) => PositionSuffix().Replace(message, "");

    [GeneratedRegex(@"\s*(Path: [^|]*\|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?$")]
    private static partial Regex PositionSuffix();
}
