using System.Text.Json.Nodes;
using Seg.Contracts.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Rules on the shape of a sweep's text that hold before any value is read: how deeply it nests, and that every
/// string is text PostgreSQL and JSON can store (no NUL, no unpaired UTF-16 surrogate). A sweep nests three levels
/// (the document, a field, a list or the seed range); anything much deeper is an attack on the parser's stack.
/// </summary>
internal static class SweepTextRules
{
    /// <summary>Deepest nesting of lists and mappings accepted in a sweep (a sweep needs 3).</summary>
    public const int MaxDepth = 16;

    /// <summary>
    /// The nesting rule for YAML, checked with YamlDotNet's event parser, which keeps its state on a heap stack: the
    /// tree builder that runs afterwards recurses once per level, and ten thousand <c>[</c> overflow the thread's stack,
    /// which .NET cannot catch.
    /// </summary>
    /// <returns>The error, or null when the text nests no deeper than <see cref="MaxDepth"/>.</returns>
    /// <exception cref="YamlException">The text is not valid YAML.</exception>
    public static ValidationError? CheckYamlDepth(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart:
                    if (++depth > MaxDepth)
                    {
                        var at = parser.Current!.Start;
                        return new ValidationError(ValidationError.Sweep,
                            $"must nest lists and mappings at most {MaxDepth} levels deep (deeper at {new SourceLocation(at.Line, at.Column)})");
                    }

                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }
        }

        return null;
    }

    /// <summary>
    /// Every string of the tree (values and keys) checked for NUL and unpaired surrogates, each error naming the field.
    /// The tree is at most <see cref="MaxDepth"/> deep, so the walk's recursion is bounded.
    /// </summary>
    public static List<ValidationError> CheckStrings(JsonNode? root)
    {
        var errors = new List<ValidationError>();
        try
        {
            Walk(root, JsonPaths.Root, errors);
        }
        catch (InvalidOperationException)
        {
            // A property name whose escape leaves a surrogate unpaired: System.Text.Json will not decode it.
            errors.Add(new ValidationError(ValidationError.Sweep, "must be valid Unicode text (a key's escape leaves a UTF-16 surrogate unpaired)"));
        }

        return errors;
    }

    private static void Walk(JsonNode? node, string path, List<ValidationError> errors)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    var child = path + JsonPaths.Property(key);
                    if (TextRule(key) is { } keyRule)
                    {
                        errors.Add(new ValidationError(JsonPaths.ToFieldName(path, ValidationError.Sweep), $"has a key that {keyRule}"));
                        continue;
                    }

                    Walk(value, child, errors);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], path + JsonPaths.Index(i), errors);
                }

                break;
            case JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String:
                if (StringRule(value) is { } rule)
                {
                    errors.Add(new ValidationError(JsonPaths.ToFieldName(path, ValidationError.Sweep), rule));
                }

                break;
        }
    }

    /// <summary>The rule a JSON string value breaks, or null.</summary>
    private static string? StringRule(JsonValue value)
    {
        string text;
        try
        {
            text = value.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to decode an escape such as "\ud800" that leaves a surrogate unpaired.
            return "must be valid Unicode text (an escape leaves a UTF-16 surrogate unpaired)";
        }

        return TextRule(text);
    }

    /// <summary>The rule a string breaks, or null.</summary>
    public static string? TextRule(string text)
    {
        var nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            return $"must not contain the NUL character U+0000 (at character {nul})";
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return $"must be valid Unicode text (an unpaired surrogate U+{(int)text[i]:X4} at character {i})";
            }
        }

        return null;
    }
}
