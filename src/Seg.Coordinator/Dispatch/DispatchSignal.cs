using System.Threading.Channels;

namespace Seg.Coordinator.Dispatch;

/// <summary>
/// Wakes the dispatcher when there may be work: a sweep was submitted or resumed, a task ended, tasks were
/// requeued or cancelled (which frees room in flight). Many signals before the dispatcher looks count as one.
/// </summary>
public sealed class DispatchSignal
{
    // Capacity 1, extra writes dropped: a pending wake-up is all the dispatcher needs to know.
    private readonly Channel<bool> _wakeUps = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Asks the dispatcher to look for work now.</summary>
    public void Notify() => _wakeUps.Writer.TryWrite(true);

    /// <summary>Waits for a signal or until <paramref name="timeout"/> passes, whichever comes first.</summary>
    /// <param name="timeout">The polling interval.</param>
    /// <param name="cancellationToken">Stops the wait (the host is stopping).</param>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await _wakeUps.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The interval passed without a signal: poll anyway.
        }
    }
}
