using System.Globalization;
using System.Text.RegularExpressions;
using Seg.Parameters;

namespace Seg.Pipeline.QueryBlur;

/// <summary>The three groups of UNet blocks whose self-attention SEG can blur.</summary>
public enum SegLayerGroup
{
    /// <summary><c>down_blocks.*</c>.</summary>
    Down,

    /// <summary><c>mid_block</c>.</summary>
    Mid,

    /// <summary><c>up_blocks.*</c>.</summary>
    Up,
}

/// <summary>
/// One attn1 (self-attention) layer of the UNet, located by its exported <c>to_q</c> MatMul node.
/// </summary>
/// <param name="Group">The block group.</param>
/// <param name="IndexInGroup">Position among the group's attn1 layers in module order (the <c>4</c> of <c>d4</c>).</param>
/// <param name="BlockIndex">The <c>i</c> of <c>down_blocks.i</c> / <c>up_blocks.i</c>; 0 for the mid block.</param>
/// <param name="AttentionIndex">The <c>a</c> of <c>attentions.a</c>.</param>
/// <param name="TransformerBlockIndex">The <c>t</c> of <c>transformer_blocks.t</c>.</param>
/// <param name="ToQNodeName">The node name, e.g. <c>/mid_block/attentions.0/transformer_blocks.3/attn1/to_q/MatMul</c>.</param>
public sealed record SegLayer(
    SegLayerGroup Group,
    int IndexInGroup,
    int BlockIndex,
    int AttentionIndex,
    int TransformerBlockIndex,
    string ToQNodeName)
{
    /// <summary>The short label, e.g. <c>d4</c>, <c>m0</c>, <c>u12</c>.</summary>
    public string Label => $"{SegLayerSelection.Letter(Group)}{IndexInGroup.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Which attn1 layers SEG blurs: whole groups (<c>down</c>, <c>mid</c>, <c>up</c>, <c>all</c>) and/or single layers
/// by index inside their group (<c>d4</c>, <c>m0</c>, <c>u12</c>), comma separated. Indices count attn1 modules in
/// module order inside each group (block index, then attentions index, then transformer_blocks index), as the
/// official pipeline numbers them (SDXL: 24 down, 10 mid, 36 up). Equality is by <see cref="Canonical"/>.
/// </summary>
public sealed partial class SegLayerSelection : IEquatable<SegLayerSelection>
{
    private const string UsageHint = "use down, mid, up or d<i>/m<i>/u<i>";

    private readonly SortedSet<SegLayerGroup> _wholeGroups;
    private readonly SortedSet<(SegLayerGroup Group, int Index)> _singles;

    private SegLayerSelection(SortedSet<SegLayerGroup> wholeGroups, SortedSet<(SegLayerGroup Group, int Index)> singles)
    {
        _wholeGroups = wholeGroups;
        // Singles already covered by a whole group add nothing; dropping them keeps the canonical form unique.
        singles.RemoveWhere(s => wholeGroups.Contains(s.Group));
        _singles = singles;
        Canonical = BuildCanonical();
    }

    /// <summary>The default selection of the official pipeline: the whole mid block.</summary>
    public static SegLayerSelection Default { get; } = Parse(ParameterDefinitions.SegLayers.Default);

    /// <summary>
    /// The canonical text (groups in the order down, mid, up, or <c>all</c>; then the remaining single layers in
    /// group and index order), used in cache keys, metadata and provenance. Parsing it gives an equal selection.
    /// </summary>
    public string Canonical { get; }

    /// <summary>Parses a selection such as <c>mid</c>, <c>down,up</c>, <c>all</c> or <c>d4,d5,m0,u12</c> (case-insensitive).</summary>
    /// <param name="text">Comma-separated groups and indexed layers.</param>
    /// <returns>The selection.</returns>
    public static SegLayerSelection Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var groups = new SortedSet<SegLayerGroup>();
        var singles = new SortedSet<(SegLayerGroup Group, int Index)>();
        foreach (var rawToken in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var token = rawToken.ToLowerInvariant();
            switch (token)
            {
                case "down":
                    groups.Add(SegLayerGroup.Down);
                    continue;
                case "mid":
                    groups.Add(SegLayerGroup.Mid);
                    continue;
                case "up":
                    groups.Add(SegLayerGroup.Up);
                    continue;
                case "all":
                    groups.UnionWith([SegLayerGroup.Down, SegLayerGroup.Mid, SegLayerGroup.Up]);
                    continue;
            }

            var match = IndexedLayerPattern().Match(token);
            if (!match.Success)
            {
                throw new FormatException($"seg_layers: unknown group '{rawToken}'; {UsageHint}");
            }
            if (!int.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw new FormatException($"seg_layers: index in '{rawToken}' is too large");
            }
            singles.Add((FromLetter(match.Groups[1].Value[0]), index));
        }

        if (groups.Count == 0 && singles.Count == 0)
        {
            throw new FormatException($"seg_layers must select at least one layer (got '{text}'); {UsageHint}");
        }
        return new SegLayerSelection(groups, singles);
    }

    /// <summary>
    /// The selected layers among the given attn1 <c>to_q</c> MatMul node names, in module order (down, mid, up).
    /// </summary>
    /// <param name="attn1ToQNodeNames">Every attn1 to_q MatMul node name of the UNet, in any order.</param>
    /// <returns>The selected layers, never empty.</returns>
    /// <exception cref="ArgumentException">A name is not an attn1 to_q MatMul name, an index is out of range, or
    /// the selection matches no layer of this UNet.</exception>
    public IReadOnlyList<SegLayer> Resolve(IReadOnlyList<string> attn1ToQNodeNames)
    {
        ArgumentNullException.ThrowIfNull(attn1ToQNodeNames);
        var all = EnumerateLayers(attn1ToQNodeNames);
        var counts = all.GroupBy(l => l.Group).ToDictionary(g => g.Key, g => g.Count());
        int Count(SegLayerGroup group) => counts.GetValueOrDefault(group);
        var inventory = $"this UNet has {Count(SegLayerGroup.Down)} down, {Count(SegLayerGroup.Mid)} mid, " +
                        $"{Count(SegLayerGroup.Up)} up attn1 layers";

        foreach (var (group, index) in _singles)
        {
            if (index >= Count(group))
            {
                throw new ArgumentException($"seg_layers: {Letter(group)}{index} is out of range: {inventory}", nameof(attn1ToQNodeNames));
            }
        }

        var selected = all
            .Where(l => _wholeGroups.Contains(l.Group) || _singles.Contains((l.Group, l.IndexInGroup)))
            .ToList();
        if (selected.Count == 0)
        {
            throw new ArgumentException($"seg_layers: '{Canonical}' selects no attn1 layer: {inventory}", nameof(attn1ToQNodeNames));
        }
        return selected;
    }

    /// <summary>
    /// Every attn1 layer among the given to_q MatMul node names, numbered within its group in module order.
    /// </summary>
    /// <param name="attn1ToQNodeNames">Node names such as <c>/up_blocks.0/attentions.2/transformer_blocks.9/attn1/to_q/MatMul</c>.</param>
    /// <returns>The layers in module order: down, mid, up; inside a group by block, attention, transformer block.</returns>
    public static IReadOnlyList<SegLayer> EnumerateLayers(IReadOnlyList<string> attn1ToQNodeNames)
    {
        ArgumentNullException.ThrowIfNull(attn1ToQNodeNames);
        var located = new List<(SegLayerGroup Group, int Block, int Attention, int Transformer, string Name)>();
        foreach (var name in attn1ToQNodeNames.Distinct(StringComparer.Ordinal))
        {
            if (!TryLocate(name, out var group, out var block, out var attention, out var transformer))
            {
                throw new ArgumentException(
                    $"'{name}' is not an attn1 to_q MatMul node name " +
                    "(expected /<down_blocks.i|mid_block|up_blocks.j>/attentions.<a>/transformer_blocks.<t>/attn1/to_q/MatMul)",
                    nameof(attn1ToQNodeNames));
            }
            located.Add((group, block, attention, transformer, name));
        }

        return located
            .OrderBy(l => l.Group).ThenBy(l => l.Block).ThenBy(l => l.Attention).ThenBy(l => l.Transformer)
            .GroupBy(l => l.Group)
            .SelectMany(g => g.Select((l, i) => new SegLayer(l.Group, i, l.Block, l.Attention, l.Transformer, l.Name)))
            .ToList();
    }

    /// <summary>True when <paramref name="nodeName"/> is an exporter-style attn1 to_q MatMul node name.</summary>
    /// <param name="nodeName">A node name.</param>
    /// <returns>Whether the name matches.</returns>
    public static bool IsAttn1ToQName(string nodeName) => TryLocate(nodeName, out _, out _, out _, out _);

    /// <inheritdoc/>
    public bool Equals(SegLayerSelection? other) => other is not null && Canonical == other.Canonical;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SegLayerSelection);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Canonical);

    /// <summary>The canonical text.</summary>
    /// <returns><see cref="Canonical"/>.</returns>
    public override string ToString() => Canonical;

    internal static char Letter(SegLayerGroup group) => group switch
    {
        SegLayerGroup.Down => 'd',
        SegLayerGroup.Mid => 'm',
        _ => 'u',
    };

    private static SegLayerGroup FromLetter(char letter) => letter switch
    {
        'd' => SegLayerGroup.Down,
        'm' => SegLayerGroup.Mid,
        _ => SegLayerGroup.Up,
    };

    private static bool TryLocate(string nodeName, out SegLayerGroup group, out int block, out int attention, out int transformer)
    {
        group = default;
        block = attention = transformer = 0;
        var match = ToQNodePattern().Match(nodeName);
        if (!match.Success)
        {
            return false;
        }
        if (match.Groups["down"].Success)
        {
            group = SegLayerGroup.Down;
            block = int.Parse(match.Groups["down"].Value, CultureInfo.InvariantCulture);
        }
        else if (match.Groups["up"].Success)
        {
            group = SegLayerGroup.Up;
            block = int.Parse(match.Groups["up"].Value, CultureInfo.InvariantCulture);
        }
        else
        {
            group = SegLayerGroup.Mid;
        }
        attention = int.Parse(match.Groups["attention"].Value, CultureInfo.InvariantCulture);
        transformer = int.Parse(match.Groups["transformer"].Value, CultureInfo.InvariantCulture);
        return true;
    }

    private string BuildCanonical()
    {
        var parts = new List<string>();
        if (_wholeGroups.Count == 3)
        {
            parts.Add("all");
        }
        else
        {
            parts.AddRange(_wholeGroups.Select(g => g.ToString().ToLowerInvariant()));
        }
        parts.AddRange(_singles.Select(s => $"{Letter(s.Group)}{s.Index.ToString(CultureInfo.InvariantCulture)}"));
        return string.Join(',', parts);
    }

    [GeneratedRegex("^([dmu])([0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IndexedLayerPattern();

    [GeneratedRegex(@"^/(?:down_blocks\.(?<down>[0-9]{1,6})|mid_block|up_blocks\.(?<up>[0-9]{1,6}))/attentions\.(?<attention>[0-9]{1,6})/transformer_blocks\.(?<transformer>[0-9]{1,6})/attn1/to_q/MatMul$", RegexOptions.CultureInvariant)]
    private static partial Regex ToQNodePattern();
}
