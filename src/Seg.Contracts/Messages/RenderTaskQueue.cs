namespace Seg.Contracts.Messages;

/// <summary>The queue that carries <see cref="RenderTask"/> from the coordinator to the workers.</summary>
public static class RenderTaskQueue
{
    /// <summary>
    /// Its default name (<c>Coordinator:RenderTaskQueue</c> and <c>Worker:QueueName</c> name it for a farm; the KEDA
    /// trigger scales the workers on it). One queue per farm.
    /// </summary>
    public const string DefaultName = "render-tasks";
}
