namespace Seg.Parameters;

/// <summary>
/// The rule on model and VAE names, shared by the API (sweeps), the command line and the worker: a name is a folder
/// under the worker's model root, so it has no <c>..</c> segment and is no absolute path, unless the deployment
/// allows absolute paths (<c>AllowAbsoluteModelPaths</c>). Errors quote the name as given, never a resolved host path.
/// </summary>
public static class ModelNames
{
    /// <summary>The rule as it follows a field name.</summary>
    public const string ConfinedRule = "must name a folder under the model root: no '..' segment and no absolute path";

    /// <summary>The broken rule, or null when <paramref name="name"/> keeps it (emptiness is the definitions' rule).</summary>
    /// <param name="name">The model or VAE name as written.</param>
    /// <param name="allowAbsolute">Whether an absolute path is accepted (it still may not contain <c>..</c>).</param>
    public static string? Check(string? name, bool allowAbsolute)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var trimmed = name.Trim();
        // Both separators: a name written on Windows reaches a Linux worker too.
        if (trimmed.Split('/', '\\').Any(segment => segment.Trim() == ".."))
        {
            return $"{ConfinedRule} (got '{name}', which has a '..' segment)";
        }

        if (!allowAbsolute && IsAbsolute(trimmed))
        {
            return $"{ConfinedRule} (got '{name}', an absolute path; AllowAbsoluteModelPaths is off)";
        }

        return null;
    }

    /// <summary>Rooted on this system or on another: <c>/x</c>, <c>\x</c>, <c>C:</c>, <c>~</c> (a shell's home).</summary>
    private static bool IsAbsolute(string name) =>
        Path.IsPathRooted(name) || name[0] is '/' or '\\' or '~' || (name.Length >= 2 && char.IsAsciiLetter(name[0]) && name[1] == ':');
}
