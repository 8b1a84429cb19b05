using Microsoft.AspNetCore.Mvc;
using Seg.Coordinator.Workers;

namespace Seg.Coordinator.Pages;

/// <summary>The workers: health, devices, slots busy, throughput, last heartbeat, running tasks.</summary>
/// <param name="workers">The API's worker queries.</param>
public sealed class WorkersModel(WorkerQueries workers) : SegPageModel
{
    /// <summary>Every worker seen.</summary>
    public IReadOnlyList<WorkerView> Workers { get; private set; } = [];

    /// <summary>The execution provider each worker last rendered with, by worker id.</summary>
    public IReadOnlyDictionary<string, string> Providers { get; private set; } = new Dictionary<string, string>();

    /// <summary>Loads the workers.</summary>
    public async Task OnGetAsync([FromServices] Web.WebQueries queries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queries);
        Workers = await workers.ListAsync(cancellationToken).ConfigureAwait(false);
        Providers = await queries.ExecutionProvidersAsync(cancellationToken).ConfigureAwait(false);
    }
}
