using System.Text.Json;

namespace Seg.Contracts.Json;

/// <summary>
/// A value that breaks a rule of form while a converter reads it. The serializer fills <see cref="JsonException.Path"/>
/// with the property it was reading; <see cref="SubPath"/> points below it (an index such as <c>[1]</c>, a key such
/// as <c>.count</c>), because the serializer does not see inside a converter.
/// </summary>
internal sealed class FieldJsonException(string subPath, string rule) : JsonException(rule)
{
    /// <summary>The place below the property, in JSON-path form (<c>[1]</c>, <c>.count</c>), or empty.</summary>
    public string SubPath { get; } = subPath;

    /// <summary>The rule, phrased to follow the field name ("must be a number (got \"x\")").</summary>
    public string Rule { get; } = rule;
}
