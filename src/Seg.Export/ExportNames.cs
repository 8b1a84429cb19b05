using System.Text;

namespace Seg.Export;

/// <summary>File and folder names made from user text (sweep names, parameter values): safe on every file system.</summary>
internal static class ExportNames
{
    /// <summary>A shard name from <paramref name="text"/>: letters, digits, <c>.</c> <c>_</c> and <c>-</c>; <c>seg</c> when nothing is left.</summary>
    public static string ShardName(string text)
    {
        var safe = Safe(text).Replace('.', '_');
        return safe.Length == 0 ? "seg" : safe;
    }

    /// <summary>The folder of the images whose <paramref name="parameter"/> is <paramref name="value"/> (<c>seg_scale=3</c>).</summary>
    public static string SplitFolder(string parameter, string value)
    {
        var safe = Safe(value);
        return $"{parameter}={(safe.Length == 0 ? "_" : safe)}";
    }

    private static string Safe(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 80));
        foreach (var c in text.Trim())
        {
            if (builder.Length == 80)
            {
                break;
            }
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }
        return builder.ToString().Trim('.');
    }
}
