namespace Seg.Contracts.Json;

/// <summary>Builds JSON paths the way System.Text.Json writes them in <c>JsonException.Path</c>.</summary>
internal static class JsonPaths
{
    /// <summary>The path of the document root.</summary>
    public const string Root = "$";

    /// <summary>The path step for a property: <c>.name</c>, or <c>['odd name']</c> when the name is not a plain word.</summary>
    public static string Property(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-') ? "." + name : $"['{name}']";

    /// <summary>The path step for an array item.</summary>
    public static string Index(int index) => $"[{index}]";

    /// <summary>
    /// The user-facing field name for a path: <c>$.seeds.count</c> becomes <c>seeds.count</c>; the root is
    /// <paramref name="rootName"/>.
    /// </summary>
    public static string ToFieldName(string? path, string rootName)
    {
        if (string.IsNullOrEmpty(path) || path == Root)
        {
            return rootName;
        }
        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path[1..];
    }
}
