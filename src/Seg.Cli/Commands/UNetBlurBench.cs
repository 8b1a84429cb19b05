using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline;
using Seg.Pipeline.Models;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.UNet;

namespace Seg.Cli.Commands;

/// <summary>
/// Measures what the SEG blur costs inside the UNet: the same batch of 3 (uncond, cond, blurred) through the
/// unpatched graph and through the graph patched for <c>mid</c>, calls interleaved so that load on a shared
/// machine affects both alike. Used by <c>seg bench guidance</c>.
/// </summary>
internal static class UNetBlurBench
{
    /// <summary>Median milliseconds per UNet call, unpatched and patched, at <paramref name="size"/> pixels square.</summary>
    public static (double PlainMs, double PatchedMs) Measure(string modelFolder, int size, int calls, string layers = "mid")
    {
        const int batch = 3;
        var model = SdxlModelFolder.Open(modelFolder);
        var sessions = new OnnxSessionFactory(ExecutionProviderOptions.Cpu);
        var patchedPath = PatchedUNetCache.GetOrCreate(model.UNetPath, SegLayerSelection.Parse(layers), new PipelineOptions().PatchCacheFolder);
        var info = UNetSegPatcher.ReadPatchInfo(OnnxModelFile.Load(patchedPath))!;
        using var plain = new UNetSession(model.UNetPath, sessions);
        using var patched = new UNetSession(patchedPath, sessions, Path.GetDirectoryName(model.UNetPath));
        var latent = size / 8;
        var random = new Random(1);
        float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var inputs = new UNetInputs(batch, latent, latent, Noise(batch * 4 * latent * latent), 500, 77,
            Noise(batch * 77 * plain.EncoderHiddenSize), Noise(batch * plain.TextEmbedsSize),
            Enumerable.Repeat((float)size, batch * 6).ToArray(), []);
        var extra = new List<(string, float[], long[])>();
        foreach (var pair in info.Inputs)
        {
            var n = SegBlurOperator.GridLength(latent, pair.Factor);
            var stacked = SegBlurOperator.Identity(n).Concat(SegBlurOperator.Identity(n)).Concat(SegBlurOperator.Matrix(n, double.PositiveInfinity)).ToArray();
            extra.Add((pair.RowsInput, stacked, [batch, n, n]));
            extra.Add((pair.ColumnsInput, stacked, [batch, n, n]));
        }
        var patchedInputs = inputs with { ExtraInputs = extra };

        using var runOptions = new RunOptions();
        plain.Predict(inputs, runOptions);
        patched.Predict(patchedInputs, runOptions);
        var plainTimes = new List<double>();
        var patchedTimes = new List<double>();
        for (var i = 0; i < calls; i++)
        {
            var watch = Stopwatch.StartNew();
            plain.Predict(inputs, runOptions);
            plainTimes.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            patched.Predict(patchedInputs, runOptions);
            patchedTimes.Add(watch.Elapsed.TotalMilliseconds);
        }
        return (BenchCommand.Median(plainTimes), BenchCommand.Median(patchedTimes));
    }
}
