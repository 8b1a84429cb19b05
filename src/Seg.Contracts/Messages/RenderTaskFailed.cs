namespace Seg.Contracts.Messages;

/// <summary>
/// Event from a worker: a task failed. A permanent failure (bad model, invalid parameters) is not retried; a
/// transient one may be requeued up to the attempt cap.
/// MassTransit names it <c>urn:message:Seg.Contracts.Messages:RenderTaskFailed</c>: keep the namespace and name.
/// </summary>
/// <param name="TaskId">The task.</param>
/// <param name="SweepId">The task's sweep.</param>
/// <param name="Reason">What went wrong, for people.</param>
/// <param name="Permanent">Whether trying again cannot help.</param>
/// <param name="Worker">The worker that tried.</param>
/// <param name="Attempt">The attempt that failed, 1 for the first.</param>
public sealed record RenderTaskFailed(Guid TaskId, Guid SweepId, string Reason, bool Permanent, string Worker, int Attempt);
