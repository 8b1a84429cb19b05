using Seg.Contracts.Messages;
using Seg.Pipeline;

namespace Seg.Worker.Rendering;

/// <summary>Renders the image of one task on a leased slot: the pipeline, or the fake renderer for benchmarks.</summary>
public interface ITaskRenderer
{
    /// <summary>Renders the task's image as a PNG that carries its provenance.</summary>
    /// <param name="task">The task.</param>
    /// <param name="request">The task's parameters as the pipeline's request, checked once by <see cref="RenderRequest.For"/>.</param>
    /// <param name="cancellationToken">Cancels the render (the worker drains on shutdown).</param>
    /// <returns>The PNG and what provenance records about how it was made.</returns>
    /// <exception cref="PermanentTaskFailureException">The task cannot succeed (model, layers).</exception>
    Task<TaskRenderResult> RenderAsync(RenderTask task, RenderRequest request, CancellationToken cancellationToken);
}
