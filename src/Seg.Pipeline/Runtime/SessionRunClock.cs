using System.Diagnostics;

namespace Seg.Pipeline.Runtime;

/// <summary>
/// Adds up the time spent inside <c>InferenceSession.Run</c> during one render, so that benchmarks can tell
/// ONNX Runtime's share from ours (tensor conversion, tokenizer, scheduler, noise, image encoding).
/// One clock per render; not shared between threads.
/// </summary>
public sealed class SessionRunClock
{
    private long _ticks;

    /// <summary>The accumulated time inside session runs.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, _ticks);

    /// <summary>Runs <paramref name="run"/> and adds its duration.</summary>
    public T Measure<T>(Func<T> run)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return run();
        }
        finally
        {
            _ticks += Stopwatch.GetTimestamp() - start;
        }
    }
}
