using System.Diagnostics;
using System.Globalization;
using Seg.Worker.Models;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg bench hashes</c>: a worker's start on a large model, first (every file hashed) and restarted (hashes from
/// the cache by path, size and modification time). Without <c>--model</c> it makes a model-shaped folder whose UNet
/// weights are one sparse file of <c>--size-gb</c> (no disk space used; reading it still costs SHA-256 of every byte).
/// </summary>
internal static class ModelHashBench
{
    public static int Run(string? modelFolder, double sizeGb)
    {
        var scratch = Path.Combine(Path.GetTempPath(), $"seg-bench-hashes-{Guid.NewGuid():N}");
        try
        {
            var folder = modelFolder ?? SparseModel(Path.Combine(scratch, "model"), sizeGb);
            var bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var cache = Path.Combine(scratch, "cache");
            Console.WriteLine($"model {folder}: {bytes / 1e9:F2} GB in {Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count()} files");

            // Each start is a new hasher, as a restarted worker process has; they share the cache folder.
            var first = Time(() => new ModelFileHasher(cache).GetAsync(folder, CancellationToken.None));
            var cached = Enumerable.Range(0, 3).Select(_ => Time(() => new ModelFileHasher(cache).GetAsync(folder, CancellationToken.None))).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"first start (hash every file): {first:F2} s ({bytes / 1e9 / first:F2} GB/s)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"restart (cached by path, size, mtime), median of 3: {cached[1] * 1000:F1} ms ({first / cached[1]:F0}x faster)"));
            return 0;
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static double Time(Func<Task<IReadOnlyDictionary<string, string>>> hash)
    {
        var watch = Stopwatch.StartNew();
        hash().GetAwaiter().GetResult();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>The Optimum layout's UNet folder: a small graph file beside one sparse external-data file.</summary>
    private static string SparseModel(string folder, double sizeGb)
    {
        var unet = Directory.CreateDirectory(Path.Combine(folder, "unet")).FullName;
        File.WriteAllBytes(Path.Combine(unet, "model.onnx"), new byte[4 << 10]);
        using (var data = new FileStream(Path.Combine(unet, "model.onnx_data"), FileMode.CreateNew))
        {
            data.SetLength((long)(sizeGb * 1e9));
        }
        File.WriteAllText(Path.Combine(unet, "config.json"), "{}");
        return folder;
    }
}
