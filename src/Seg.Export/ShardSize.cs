using System.Globalization;
using System.Text.RegularExpressions;

namespace Seg.Export;

/// <summary>When a shard is full: after <see cref="Images"/> samples, or before it would pass <see cref="Bytes"/>.</summary>
/// <param name="Images">Most samples per shard, or null.</param>
/// <param name="Bytes">Most bytes per shard, or null (a single larger sample still gets a shard of its own).</param>
public sealed partial record ShardSize(int? Images, long? Bytes)
{
    /// <summary>The default: 500 MB, a size that streams well and that the Hugging Face Hub suggests for shards.</summary>
    public static ShardSize Default { get; } = new(null, 500_000_000);

    /// <summary>No limit: one shard (the farm's stream).</summary>
    public static ShardSize Unbounded { get; } = new(null, null);

    /// <summary>Whether a shard of <paramref name="count"/> samples and <paramref name="bytes"/> bytes takes no sample of <paramref name="next"/> bytes more.</summary>
    public bool IsFull(int count, long bytes, long next) =>
        count > 0 && ((Images is { } images && count >= images) || (Bytes is { } limit && bytes + next > limit));

    /// <summary>Reads a size as users write it: a number of images (<c>1000</c>) or of bytes (<c>500MB</c>, <c>1GiB</c>, <c>64kB</c>).</summary>
    /// <exception cref="ExportException">The text is neither.</exception>
    public static ShardSize Parse(string text, string field = "--shard-size")
    {
        var match = SizePattern().Match(text ?? "");
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
        {
            throw new ExportException($"{field}: must be a number of images (1000) or of bytes with a unit (500MB, 1GiB) greater than 0 (got '{text}')");
        }
        var unit = match.Groups[2].Value.ToLowerInvariant();
        if (unit.Length == 0)
        {
            return number <= int.MaxValue ? new ShardSize((int)number, null)
                : throw new ExportException($"{field}: at most {int.MaxValue} images per shard (got '{text}')");
        }
        long scale = unit switch
        {
            "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1L << 10,
            "mib" => 1L << 20,
            _ => 1L << 30,
        };
        return new ShardSize(null, checked(number * scale));
    }

    [GeneratedRegex(@"^\s*([0-9]{1,12})\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();
}
