using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Seg.Contracts.Json;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// The seeds of a sweep: an explicit list (<c>seeds: [1, 2, 3]</c>, or one seed <c>seeds: 7</c>) or a range
/// (<c>seeds: {start: 100, count: 1000}</c>, meaning 100 .. 1099). A range is never materialised.
/// </summary>
[JsonConverter(typeof(SeedSetJsonConverter))]
public sealed record SeedSet
{
    private SeedSet(IReadOnlyList<long>? values, long start, long count)
    {
        Values = values;
        Start = start;
        Count = count;
    }

    /// <summary>No seeds (what an absent <c>seeds</c> field reads as; the validator rejects it).</summary>
    public static SeedSet None { get; } = new([], 0, 0);

    /// <summary>An explicit list of seeds, in the order given.</summary>
    public static SeedSet Of(IReadOnlyList<long> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        return new SeedSet(seeds, 0, seeds.Count);
    }

    /// <summary>The seeds <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1.</summary>
    public static SeedSet Range(long start, long count) => new(null, start, count);

    /// <summary>The explicit seeds, or null for a range.</summary>
    public IReadOnlyList<long>? Values { get; }

    /// <summary>The first seed of a range (0 for a list).</summary>
    public long Start { get; }

    /// <summary>How many seeds there are.</summary>
    public long Count { get; }

    /// <summary>Whether the seeds are a range rather than a list.</summary>
    [MemberNotNullWhen(false, nameof(Values))]
    public bool IsRange => Values is null;

    /// <summary>The seed at a position (0-based) in the set.</summary>
    public long this[long index] => IsRange ? Start + index : Values[checked((int)index)];
}
