using Microsoft.AspNetCore.Mvc;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Web;

namespace Seg.Coordinator.Pages;

/// <summary>One sweep: live progress, counts per status, failures by reason, its workers, the definition, downloads.</summary>
/// <param name="sweeps">The API's sweep queries.</param>
/// <param name="queries">The pages' own queries.</param>
public sealed class SweepModel(SweepQueries sweeps, WebQueries queries) : SegPageModel
{
    /// <summary>The sweep with its detail.</summary>
    public SweepSummary Sweep { get; private set; } = null!;

    /// <summary>Failures by reason.</summary>
    public IReadOnlyList<FailureGroup> Failures { get; private set; } = [];

    /// <summary>Workers that ran its tasks.</summary>
    public IReadOnlyList<SweepWorker> Workers { get; private set; } = [];

    /// <summary>The definition as stored, in YAML.</summary>
    public string DefinitionText { get; private set; } = "";

    /// <summary>Loads the sweep; 404 when there is none.</summary>
    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await sweeps.GetDetailAsync(id, cancellationToken).ConfigureAwait(false) is not { } sweep)
        {
            return NotFound();
        }

        Sweep = sweep;
        Failures = await queries.FailuresAsync(id, cancellationToken).ConfigureAwait(false);
        Workers = await queries.WorkersAsync(id, cancellationToken).ConfigureAwait(false);
        DefinitionText = sweep.Definition is { } definition ? DefinitionYaml.Write(definition) : "";
        return Page();
    }

    /// <summary>The progress for the page's script: status, percent, counts, ETA (polled while the sweep runs).</summary>
    public async Task<IActionResult> OnGetProgressAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await sweeps.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } sweep)
        {
            return NotFound();
        }

        return new JsonResult(new
        {
            status = sweep.Status.ToString().ToLowerInvariant(),
            percent = Percent(sweep.Progress),
            progress = sweep.Progress,
            eta = Duration(sweep.EtaSeconds),
            gpuSeconds = sweep.GpuSeconds,
            tasks = sweep.Tasks,
        });
    }
}
