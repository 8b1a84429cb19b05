using System.Collections.Concurrent;
using Seg.Worker.Rendering;

namespace Seg.Worker.Tasks;

/// <summary>
/// Renders whose storing hit a transient fault, kept until the retry stores them: a retry after a blob or database
/// hiccup must not render the image again (minutes of GPU time for SDXL). Holds at most the tasks in flight.
/// </summary>
public sealed class PendingRenders
{
    private readonly ConcurrentDictionary<Guid, TaskRenderResult> _renders = new();

    /// <summary>Number of renders kept.</summary>
    public int Count => _renders.Count;

    /// <summary>The kept render of a task, or null.</summary>
    /// <param name="taskId">Task id.</param>
    /// <returns>The render, or null.</returns>
    public TaskRenderResult? Find(Guid taskId) => _renders.GetValueOrDefault(taskId);

    /// <summary>Keeps a render until its task is stored or given up.</summary>
    /// <param name="taskId">Task id.</param>
    /// <param name="render">The render.</param>
    public void Keep(Guid taskId, TaskRenderResult render) => _renders[taskId] = render;

    /// <summary>Drops the render of a task.</summary>
    /// <param name="taskId">Task id.</param>
    public void Forget(Guid taskId) => _renders.TryRemove(taskId, out _);
}
