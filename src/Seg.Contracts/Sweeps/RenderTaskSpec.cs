using Seg.Contracts.Messages;
using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>One image of an expanded sweep: its stable id, its place in the sweep and every resolved parameter.</summary>
/// <param name="TaskId">The stable id, <see cref="TaskIds.For"/>(<paramref name="SweepId"/>, <paramref name="TaskIndex"/>).</param>
/// <param name="SweepId">The sweep.</param>
/// <param name="TaskIndex">The 0-based index in the sweep's expansion order (see <see cref="SweepExpander"/>).</param>
/// <param name="Parameters">Everything that decides the image.</param>
public sealed record RenderTaskSpec(Guid TaskId, Guid SweepId, long TaskIndex, RenderParameters Parameters)
{
    /// <summary>The message that asks a worker to render this task, for the given attempt (1 for the first).</summary>
    public RenderTask ToRenderTask(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        return new RenderTask(TaskId, SweepId, TaskIndex, attempt, Parameters);
    }
}
