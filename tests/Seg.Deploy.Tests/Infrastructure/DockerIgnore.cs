using System.Text;
using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// The rules of a <c>.dockerignore</c> file as Docker applies them, to copy the build context an image build would
/// get: patterns match whole paths relative to the context (<c>*</c> within a segment, <c>**</c> across segments); a
/// pattern that matches a parent folder matches everything in it; the last matching pattern decides, and one starting
/// with <c>!</c> takes a path back in (character classes are not supported). Written here because no .NET library reads .dockerignore files.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Include, string Literal)> _rules = [];

    public DockerIgnore(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var include = line.StartsWith('!');
            var pattern = (include ? line[1..] : line).Trim().TrimStart('/').TrimEnd('/');
            if (pattern.IndexOfAny(['[', '\\']) >= 0)
            {
                throw new NotSupportedException($".dockerignore pattern '{line}': character classes and escapes are not supported by this reader");
            }
            _rules.Add((new Regex("^" + ToRegex(pattern) + "$", RegexOptions.CultureInvariant), include, LiteralPrefix(pattern)));
        }
    }

    public static DockerIgnore Load(string file) => new(File.ReadAllLines(file));

    /// <summary>Whether <paramref name="relativePath"/> (with <c>/</c> separators) is left out of the context.</summary>
    public bool IsExcluded(string relativePath)
    {
        var excluded = false;
        foreach (var (pattern, include, _) in _rules)
        {
            if (MatchesOrParentMatches(pattern, relativePath))
            {
                excluded = !include;
            }
        }
        return excluded;
    }

    /// <summary>The files of the context: every file under <paramref name="root"/> that is not excluded.</summary>
    public IEnumerable<string> ContextFiles(string root)
    {
        var pending = new Stack<string>([""]);
        while (pending.Count > 0)
        {
            var folder = pending.Pop();
            var full = folder.Length == 0 ? root : Path.Combine(root, folder);
            foreach (var entry in Directory.EnumerateFileSystemEntries(full))
            {
                var relative = (folder.Length == 0 ? "" : folder + "/") + Path.GetFileName(entry);
                if (Directory.Exists(entry) && !File.GetAttributes(entry).HasFlag(FileAttributes.ReparsePoint))
                {
                    if (!IsExcluded(relative) || MayIncludeBelow(relative))
                    {
                        pending.Push(relative);
                    }
                }
                else if (File.Exists(entry) && !IsExcluded(relative))
                {
                    yield return relative;
                }
            }
        }
    }

    /// <summary>Whether an exception (<c>!</c>) pattern could take back something inside an excluded folder.</summary>
    private bool MayIncludeBelow(string folder) =>
        _rules.Any(r => r.Include && (r.Literal.StartsWith(folder + "/", StringComparison.Ordinal) || folder.StartsWith(r.Literal, StringComparison.Ordinal)));

    private static bool MatchesOrParentMatches(Regex pattern, string path)
    {
        if (pattern.IsMatch(path))
        {
            return true;
        }
        for (var slash = path.IndexOf('/'); slash > 0; slash = path.IndexOf('/', slash + 1))
        {
            if (pattern.IsMatch(path[..slash]))
            {
                return true;
            }
        }
        return false;
    }

    private static string LiteralPrefix(string pattern)
    {
        var wildcard = pattern.IndexOfAny(['*', '?', '[', '\\']);
        return wildcard < 0 ? pattern : pattern[..wildcard];
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" is any number of folders (none included); a trailing "**" anything.
                if (i + 2 < pattern.Length && pattern[i + 2] == '/')
                {
                    regex.Append("(.*/)?");
                    i += 2;
                }
                else
                {
                    regex.Append(".*");
                    i++;
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }
        return regex.ToString();
    }
}
