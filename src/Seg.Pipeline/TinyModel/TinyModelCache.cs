namespace Seg.Pipeline.TinyModel;

/// <summary>
/// The tiny model on disk: written once per option set into a cache folder, so that <c>seg render</c> and
/// sweeps that name <c>model: tiny</c> work on a fresh machine without any download.
/// </summary>
public static class TinyModelCache
{
    /// <summary>The model name that refers to the tiny model in sweeps and on the command line.</summary>
    public const string ModelName = "tiny";

    /// <summary>Bumped whenever the writer's output changes, so caches never serve a stale tiny model.</summary>
    public const int FormatVersion = 2;

    /// <summary>
    /// Returns the folder of the tiny model for <paramref name="options"/> under <paramref name="cacheRoot"/>,
    /// writing it first if needed. Safe when several processes ask at once: each writes a temporary folder
    /// and the first rename wins.
    /// </summary>
    public static string GetOrCreate(string cacheRoot, TinyModelOptions options)
    {
        var name = $"tiny-sdxl-v{FormatVersion}" +
                   (options.Fp16 ? "-fp16" : "") +
                   (options.ExternalUNetData ? "-external" : "") +
                   (options.TimestepForm != TimestepForm.FloatVector ? $"-{options.TimestepForm.ToString().ToLowerInvariant()}" : "") +
                   (options.Seed != new TinyModelOptions().Seed ? $"-seed{options.Seed}" : "") +
                   (options.Profile != ModelProfile.Tiny ? $"-{options.Profile.ToString().ToLowerInvariant()}" : "");
        var folder = Path.Combine(Path.GetFullPath(cacheRoot), name);
        if (File.Exists(Path.Combine(folder, "model_index.json")))
        {
            return folder;
        }

        Directory.CreateDirectory(cacheRoot);
        var temporary = $"{folder}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        TinySdxlModelWriter.Write(temporary, options);
        try
        {
            Directory.Move(temporary, folder);
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, "model_index.json")))
        {
            // Another process finished first; its folder is identical (the weights come from a fixed seed).
            Directory.Delete(temporary, recursive: true);
        }
        return folder;
    }
}
