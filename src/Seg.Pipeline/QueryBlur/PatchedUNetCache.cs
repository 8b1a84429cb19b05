using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Onnx;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// A folder of SEG-patched UNets, one per (UNet, layer selection, patch version), so that workers patch once.
/// An entry is <c>&lt;cacheRoot&gt;/&lt;key&gt;/model.onnx</c>, the patched graph only: its initializers still
/// name the UNet's external data files, which stay in the UNet's own folder (open the entry with that folder as
/// the external-data folder, as <c>UNetSession</c> does). It is built in a temporary folder and renamed into
/// place, so concurrent processes never see or leave a half-written entry.
/// </summary>
public static class PatchedUNetCache
{
    /// <summary>File name of the patched model inside an entry.</summary>
    public const string ModelFileName = "model.onnx";

    private const string KeyFileName = "seg-cache-key.txt";

    /// <summary>
    /// The path of the patched model for <paramref name="unetModelPath"/> and <paramref name="layers"/>,
    /// patching and storing it first when the cache does not hold it yet.
    /// </summary>
    /// <param name="unetModelPath">The original exported UNet <c>model.onnx</c>.</param>
    /// <param name="layers">The attn1 layers to blur.</param>
    /// <param name="cacheRoot">The cache folder (any file system: no weights are written there).</param>
    /// <param name="mode">Batched (every item through the whole UNet) or forked (shared prefix).</param>
    /// <returns>Full path of the cached patched <c>model.onnx</c>.</returns>
    public static string GetOrCreate(string unetModelPath, SegLayerSelection layers, string cacheRoot, SegPatchMode mode = SegPatchMode.Batched)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheRoot);
        var source = Path.GetFullPath(unetModelPath);
        var bytes = File.ReadAllBytes(source);
        // Parsed from the same bytes that were hashed, so the entry always matches its key.
        var model = ModelProto.Parser.ParseFrom(bytes);
        var (key, material) = ComputeKey(source, bytes, model, layers, mode);

        var root = Path.GetFullPath(cacheRoot);
        var entry = Path.Combine(root, key);
        var entryModel = Path.Combine(entry, ModelFileName);
        if (IsComplete(entry))
        {
            return entryModel;
        }

        Directory.CreateDirectory(root);
        var staging = Path.Combine(root, $".tmp-{key}-{Guid.NewGuid():N}");
        try
        {
            // Graph only: the weights stay in the UNet's folder, which may be on another (read-only) file system.
            UNetSegPatcher.PatchLoaded(model, source, Path.Combine(staging, ModelFileName), layers, mode, linkExternalData: false);
            File.WriteAllText(Path.Combine(staging, KeyFileName), material);
            if (Directory.Exists(entry) && !IsComplete(entry))
            {
                // Left by a manual deletion inside the entry; a concurrent builder may remove it first.
                TryDelete(entry);
            }
            try
            {
                Directory.Move(staging, entry);
            }
            catch (IOException) when (IsComplete(entry))
            {
                // Another process stored the same entry first; use theirs.
            }
        }
        finally
        {
            TryDelete(staging);
        }

        if (!IsComplete(entry))
        {
            throw new IOException($"The patched UNet cache entry '{entry}' could not be completed.");
        }
        return entryModel;
    }

    /// <summary>
    /// The cache key of a UNet and selection: SHA-256 over the UNet model bytes' SHA-256, the size and modification
    /// time of every external data file it refers to, the canonical layer selection,
    /// <see cref="UNetSegPatcher.PatchVersion"/> and, for a forked patch, the mode.
    /// </summary>
    /// <param name="unetModelPath">The original exported UNet <c>model.onnx</c>.</param>
    /// <param name="layers">The attn1 layers to blur.</param>
    /// <param name="mode">Batched or forked.</param>
    /// <returns>The key, 32 lowercase hex digits.</returns>
    public static string ComputeKey(string unetModelPath, SegLayerSelection layers, SegPatchMode mode = SegPatchMode.Batched)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var source = Path.GetFullPath(unetModelPath);
        var bytes = File.ReadAllBytes(source);
        return ComputeKey(source, bytes, ModelProto.Parser.ParseFrom(bytes), layers, mode).Key;
    }

    private static (string Key, string Material) ComputeKey(string source, byte[] modelBytes, ModelProto model, SegLayerSelection layers, SegPatchMode mode)
    {
        var material = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"seg-patch-version {UNetSegPatcher.PatchVersion}\n")
            .Append(CultureInfo.InvariantCulture, $"layers {layers.Canonical}\n");
        // Batched keys stay what they were before the forked mode existed, so existing cache entries stay valid.
        if (mode != SegPatchMode.Batched)
        {
            material.Append(CultureInfo.InvariantCulture, $"mode {mode.ToString().ToLowerInvariant()}\n");
        }
        material
            .Append(CultureInfo.InvariantCulture, $"unet-sha256 {Convert.ToHexStringLower(SHA256.HashData(modelBytes))}\n");
        var directory = Path.GetDirectoryName(source)!;
        // Hashing gigabytes of weights per lookup is too slow; size and mtime catch a replaced data file.
        foreach (var location in OnnxModelFile.ExternalDataLocations(model))
        {
            var data = new FileInfo(Path.Combine(directory, location));
            if (!data.Exists)
            {
                throw new FileNotFoundException($"The external data file '{location}' the UNet refers to is missing next to it.", data.FullName);
            }
            material.Append(CultureInfo.InvariantCulture, $"data {location} {data.Length} {data.LastWriteTimeUtc.Ticks}\n");
        }
        var text = material.ToString();
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
        return (key, text);
    }

    // The key covers the external data's size and mtime, so an entry with both files is complete and current.
    private static bool IsComplete(string entry) =>
        File.Exists(Path.Combine(entry, ModelFileName)) && File.Exists(Path.Combine(entry, KeyFileName));

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a concurrent process may be deleting or renaming it.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort, as above.
        }
    }
}
