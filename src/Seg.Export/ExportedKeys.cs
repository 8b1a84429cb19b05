namespace Seg.Export;

/// <summary>The keys an earlier run exported (<c>--resume</c>), and how many of them the source offered again.</summary>
internal sealed class ExportedKeys
{
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    /// <summary>How many times <see cref="Skip"/> answered true.</summary>
    public int Skipped { get; private set; }

    /// <summary>How many keys were exported before.</summary>
    public int Count => _keys.Count;

    /// <summary>Records a key as exported.</summary>
    public void Add(string key) => _keys.Add(key);

    /// <summary>Whether <paramref name="key"/> was exported already (then it is counted in <see cref="Skipped"/>).</summary>
    public bool Skip(string key)
    {
        var found = _keys.Contains(key);
        Skipped += found ? 1 : 0;
        return found;
    }
}
