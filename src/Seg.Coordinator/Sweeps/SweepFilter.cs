using System.Text.Json;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Sweeps;

/// <summary>Which sweeps a list shows: by status, by a part of the name (any case), by a tag.</summary>
/// <param name="Status">Only sweeps in this status; null for all.</param>
/// <param name="Name">Only sweeps whose name contains this text, in any case; null or empty for all.</param>
/// <param name="Tag">Only sweeps with this tag: <c>key</c> (any value) or <c>key=value</c>; null or empty for all.</param>
public sealed record SweepFilter(SweepStatus? Status, string? Name, string? Tag)
{
    /// <summary>Whether a sweep's tags (a JSON object) have <see cref="Tag"/>.</summary>
    /// <param name="tagsJson">The sweep's tags as stored.</param>
    /// <returns>True when it has the tag (or no tag is asked for).</returns>
    public bool MatchesTags(string tagsJson)
    {
        if (string.IsNullOrWhiteSpace(Tag))
        {
            return true;
        }

        var tags = JsonSerializer.Deserialize<Dictionary<string, string>>(tagsJson) ?? [];
        var split = Tag.IndexOf('=', StringComparison.Ordinal);
        return split < 0
            ? tags.ContainsKey(Tag.Trim())
            : tags.TryGetValue(Tag[..split].Trim(), out var value) && value == Tag[(split + 1)..].Trim();
    }
}
