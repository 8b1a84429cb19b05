using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.UNet;

/// <summary>
/// Measures what the SEG blur costs inside the UNet: the same batch of 3 (uncond, cond, blurred) through the
/// unpatched graph and through the graph patched for <c>mid</c>, calls interleaved so that load on a shared
/// machine affects both alike. Used by <c>seg bench guidance</c>.
/// </summary>
public static class UNetBlurBenchmark
{
    /// <summary>Median milliseconds per UNet call, unpatched and patched, at <paramref name="size"/> pixels square.</summary>
    public static (double PlainMs, double PatchedMs) Measure(SdxlPipeline pipeline, int size, int calls, string layers = "mid")
    {
        const int batch = 3;
        var plain = pipeline.PlainUNet;
        var patched = pipeline.GetSegUNet(layers);
        var latent = size / 8;
        var random = new Random(1);
        float[] Noise(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var inputs = new UNetInputs(batch, latent, latent, Noise(batch * 4 * latent * latent), 500, 77,
            Noise(batch * 77 * plain.EncoderHiddenSize), Noise(batch * plain.TextEmbedsSize),
            Enumerable.Repeat((float)size, batch * 6).ToArray(), []);
        var extra = new List<(string, float[], long[])>();
        foreach (var op in patched.Operators)
        {
            foreach (var (name, n) in new[] { (op.RowsInput, SegBlurOperator.GridLength(latent, op.Factor)), (op.ColsInput, SegBlurOperator.GridLength(latent, op.Factor)) })
            {
                var stacked = SegBlurOperator.Identity(n).Concat(SegBlurOperator.Identity(n)).Concat(SegBlurOperator.Matrix(n, double.PositiveInfinity)).ToArray();
                extra.Add((name, stacked, [batch, n, n]));
            }
        }
        var patchedInputs = inputs with { ExtraInputs = extra };

        using var runOptions = new RunOptions();
        plain.Predict(inputs, runOptions);
        patched.Session.Predict(patchedInputs, runOptions);
        var plainTimes = new List<double>();
        var patchedTimes = new List<double>();
        for (var i = 0; i < calls; i++)
        {
            var watch = Stopwatch.StartNew();
            plain.Predict(inputs, runOptions);
            plainTimes.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            patched.Session.Predict(patchedInputs, runOptions);
            patchedTimes.Add(watch.Elapsed.TotalMilliseconds);
        }
        return (Median(plainTimes), Median(patchedTimes));
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
