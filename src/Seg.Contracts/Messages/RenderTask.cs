using Seg.Parameters;

namespace Seg.Contracts.Messages;

/// <summary>
/// Command to a worker: render one image. Delivered at least once; the worker acknowledges a task whose image it
/// already has without rendering again (ids are stable, see <see cref="Sweeps.TaskIds"/>).
/// MassTransit names it <c>urn:message:Seg.Contracts.Messages:RenderTask</c>: keep the namespace and name.
/// </summary>
/// <param name="TaskId">The stable task id.</param>
/// <param name="SweepId">The sweep the task belongs to.</param>
/// <param name="TaskIndex">The task's index in the sweep's expansion order.</param>
/// <param name="Attempt">Which attempt this is, 1 for the first; requeues count up to a cap.</param>
/// <param name="Parameters">Every resolved parameter of the image; its JSON names are the parameters' snake_case names.</param>
public sealed record RenderTask(Guid TaskId, Guid SweepId, long TaskIndex, int Attempt, RenderParameters Parameters);
