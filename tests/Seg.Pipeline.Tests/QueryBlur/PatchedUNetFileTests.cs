using System.Security.Cryptography;
using Google.Protobuf;
using Onnx;
using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.Tests.QueryBlur;

public sealed class PatchedUNetFileTests : IDisposable
{
    private const int Channels = 5;
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"seg-patch-tests-{Guid.NewGuid():N}");

    public PatchedUNetFileTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("model.onnx_data")]
    [InlineData("model.onnx.data")]
    public void External_data_model_is_patched_loadable_and_its_weights_untouched(string dataFileName)
    {
        var unet = WriteExternalDataUNet("unet", dataFileName);
        var dataPath = Path.Combine(Path.GetDirectoryName(unet)!, dataFileName);
        var (dataHash, dataTime) = (Hash(dataPath), File.GetLastWriteTimeUtc(dataPath));
        var modelHash = Hash(unet);

        var output = Path.Combine(_root, "patched", "model.onnx");
        var info = UNetSegPatcher.PatchFile(unet, output, SegLayerSelection.Default);

        Assert.Equal(dataHash, Hash(dataPath));
        Assert.Equal(dataTime, File.GetLastWriteTimeUtc(dataPath));
        Assert.Equal(modelHash, Hash(unet));
        Assert.Equal(dataHash, Hash(Path.Combine(_root, "patched", dataFileName)));

        // The weights stay external, at the same location and offsets.
        var patched = OnnxModelFile.Load(output);
        var original = OnnxModelFile.Load(unet);
        Assert.Equal(
            original.Graph.Initializer.Select(t => t.ExternalData.ToString()),
            patched.Graph.Initializer.Where(t => t.ExternalData.Count > 0).Select(t => t.ExternalData.ToString()));
        Assert.All(patched.Graph.Initializer, t => Assert.True(t.RawData.IsEmpty));
        Assert.Equal(info.PatchedNodes, UNetSegPatcher.ReadPatchInfo(patched)!.PatchedNodes);

        AssertBlursMidLayers(unet, output, info);
    }

    [Fact]
    public void Patch_file_never_overwrites_the_original()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var error = Assert.Throws<ArgumentException>(() => UNetSegPatcher.PatchFile(unet, unet, SegLayerSelection.Default));
        Assert.Contains("outputModelPath must differ", error.Message);
    }

    [Fact]
    public void Patch_file_into_the_unet_folder_needs_no_link()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var output = Path.Combine(Path.GetDirectoryName(unet)!, "model.seg.onnx");
        var info = UNetSegPatcher.PatchFile(unet, output, SegLayerSelection.Default);
        Assert.Equal(["model.onnx", "model.onnx_data", "model.seg.onnx"], Directory.GetFiles(Path.GetDirectoryName(unet)!).Select(Path.GetFileName).Order());
        AssertBlursMidLayers(unet, output, info);
    }

    [Fact]
    public void Repatching_into_the_same_folder_reuses_the_linked_data()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var output = Path.Combine(_root, "patched", "model.onnx");
        UNetSegPatcher.PatchFile(unet, output, SegLayerSelection.Default);
        var info = UNetSegPatcher.PatchFile(unet, output, SegLayerSelection.Parse("down"));
        Assert.Equal("down", UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(output))!.Layers);
        Assert.Equal([1, 2, 4], info.Inputs.Select(i => i.Factor));
    }

    [Fact]
    public void Patch_file_refuses_to_shadow_a_foreign_data_file()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        Directory.CreateDirectory(Path.Combine(_root, "patched"));
        File.WriteAllText(Path.Combine(_root, "patched", "model.onnx_data"), "someone else's weights");
        var error = Assert.Throws<IOException>(() => UNetSegPatcher.PatchFile(unet, Path.Combine(_root, "patched", "model.onnx"), SegLayerSelection.Default));
        Assert.Contains("already exists", error.Message);
    }

    [Fact]
    public void Missing_data_file_is_reported()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        File.Delete(Path.Combine(_root, "unet", "model.onnx_data"));
        var error = Assert.Throws<FileNotFoundException>(() => UNetSegPatcher.PatchFile(unet, Path.Combine(_root, "out", "model.onnx"), SegLayerSelection.Default));
        Assert.Contains("model.onnx_data", error.Message);
    }

    [Fact]
    public void Cache_creates_once_and_keys_on_selection_model_and_data()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var cache = Path.Combine(_root, "cache");

        var mid = PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Default, cache);
        var written = File.GetLastWriteTimeUtc(mid);
        Assert.Equal(mid, PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Parse("MID"), cache));
        Assert.Equal(written, File.GetLastWriteTimeUtc(mid));
        Assert.Equal(PatchedUNetCache.ModelFileName, Path.GetFileName(mid));
        AssertBlursMidLayers(unet, mid, UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(mid))!, cached: true);
        Assert.Equal([PatchedUNetCache.ModelFileName], Directory.EnumerateFiles(Path.GetDirectoryName(mid)!, "*.onnx*").Select(Path.GetFileName));

        var down = PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Parse("down"), cache);
        Assert.NotEqual(mid, down);
        Assert.Equal("down", UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(down))!.Layers);

        // A replaced data file (new mtime) is a new entry.
        var key = PatchedUNetCache.ComputeKey(unet, SegLayerSelection.Default);
        File.SetLastWriteTimeUtc(Path.Combine(_root, "unet", "model.onnx_data"), DateTime.UtcNow.AddMinutes(5));
        Assert.NotEqual(key, PatchedUNetCache.ComputeKey(unet, SegLayerSelection.Default));
        Assert.NotEqual(mid, PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Default, cache));

        // A different graph (same data) is a new entry.
        var other = OnnxModelFile.Load(unet);
        other.ProducerVersion = "changed";
        File.WriteAllBytes(unet, other.ToByteArray());
        Assert.NotEqual(PatchedUNetCache.ComputeKey(unet, SegLayerSelection.Default), key);

        Assert.Empty(Directory.GetDirectories(cache, ".tmp-*"));
    }

    [Fact]
    public void Concurrent_callers_get_one_complete_entry()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var cache = Path.Combine(_root, "cache");
        var paths = new string[6];
        Parallel.For(0, paths.Length, new ParallelOptions { MaxDegreeOfParallelism = paths.Length },
            i => paths[i] = PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Default, cache));

        Assert.Single(paths.Distinct());
        Assert.Single(Directory.GetDirectories(cache));
        Assert.Empty(Directory.GetDirectories(cache, ".tmp-*"));
        AssertBlursMidLayers(unet, paths[0], UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(paths[0]))!, cached: true);
    }

    [Fact]
    public void Cache_reports_a_bad_selection()
    {
        var unet = WriteExternalDataUNet("unet", "model.onnx_data");
        var cache = Path.Combine(_root, "cache");
        var error = Assert.Throws<ArgumentException>(() => PatchedUNetCache.GetOrCreate(unet, SegLayerSelection.Parse("m7"), cache));
        Assert.StartsWith("seg_layers: m7 is out of range", error.Message);
        Assert.Empty(Directory.GetDirectories(cache));
    }

    private string WriteExternalDataUNet(string folder, string dataFileName)
    {
        var directory = Path.Combine(_root, folder);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "model.onnx");
        SyntheticUNet.SaveWithExternalData(SyntheticUNet.Build(SyntheticUNet.StandardAttn1, Channels), path, dataFileName);
        return path;
    }

    // Loads both models by path (so ONNX Runtime resolves the external data itself) and checks the mid layers.
    private static void AssertBlursMidLayers(string unet, string patched, SegPatchInfo info, bool cached = false)
    {
        const int latent = 16;
        var hidden = UNetSegPatcherTests.HiddenInputs(SyntheticUNet.StandardAttn1.Length, latent, latent, seed: 11);
        var outputs = new[] { SyntheticUNet.QueryOutput(3), SyntheticUNet.QueryOutput(4) };
        var plain = OrtRunner.Run(unet, hidden, outputs);
        var operators = UNetSegPatcherTests.WithOperators(hidden, info, latent, latent, 1.0);
        // Cache entries hold the patched graph only; the weights are read from the UNet's own folder.
        var blurred = cached
            ? OrtRunner.RunWithExternalData(patched, Path.GetDirectoryName(unet)!, operators, outputs)
            : OrtRunner.Run(patched, operators, outputs);
        const int grid = 4;
        const int itemSize = grid * grid * Channels;
        foreach (var output in outputs)
        {
            var expected = ReferenceBlur.Blur(plain[output].AsSpan(2 * itemSize, itemSize), grid, grid, Channels, 1.0);
            for (var e = 0; e < itemSize; e++)
            {
                Assert.True(Math.Abs(expected[e] - blurred[output][(2 * itemSize) + e]) <= 1e-5);
            }
        }
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
