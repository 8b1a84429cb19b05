using Seg.Pipeline.TinyModel;

namespace Seg.Pipeline.Tests;

/// <summary>Writes the tiny SDXL model variants once for the whole test run, into a temporary folder.</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"seg-tiny-{Guid.NewGuid():N}");
    private readonly Dictionary<TinyModelOptions, string> _folders = new();
    private readonly Lock _lock = new();

    /// <summary>The default fp32 tiny model.</summary>
    public string Fp32 => Get(new TinyModelOptions());

    /// <summary>A folder for the given variant, written on first use.</summary>
    public string Get(TinyModelOptions options)
    {
        lock (_lock)
        {
            if (!_folders.TryGetValue(options, out var folder))
            {
                folder = Path.Combine(_root, $"m{_folders.Count}");
                TinySdxlModelWriter.Write(folder, options);
                _folders[options] = folder;
            }
            return folder;
        }
    }

    /// <summary>A patch cache private to this run.</summary>
    public string PatchCache => Path.Combine(_root, "patch-cache");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TinyModelCollection : ICollectionFixture<TinyModelFixture>
{
    public const string Name = "tiny model";
}
