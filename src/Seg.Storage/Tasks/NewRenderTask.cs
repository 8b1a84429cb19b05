namespace Seg.Storage.Tasks;

/// <summary>
/// One task of a sweep being stored. Its render parameters are not stored with it: they are the expansion of the
/// sweep's stored definition at the task's index (<c>SweepExpander</c>), which the dispatcher computes again.
/// </summary>
/// <param name="Id">Stable task id (the same sweep expands to the same ids).</param>
/// <param name="TaskIndex">Position in the sweep's expansion, unique per sweep, &gt;= 0.</param>
/// <param name="Model">Model name.</param>
/// <param name="TraceParent">W3C <c>traceparent</c> of the task's submit span, or null when tracing is off.</param>
public sealed record NewRenderTask(Guid Id, int TaskIndex, string Model, string? TraceParent = null);

/// <summary>Outcome of storing a sweep.</summary>
/// <param name="SweepId">Id of the stored sweep, or of the earlier sweep with the same idempotency key.</param>
/// <param name="Created">False when a sweep with the same idempotency key already existed and nothing was written.</param>
/// <param name="TaskCount">Number of tasks of the sweep.</param>
public sealed record SweepInsertResult(Guid SweepId, bool Created, int TaskCount)
{
    /// <summary>
    /// For a repeated idempotency key: the stored sweep's <see cref="Entities.Sweep.DefinitionSha256"/>, to tell a retry
    /// of the same submit from a different sweep sent under the same key. Null for a new sweep.
    /// </summary>
    public string? ExistingDefinitionSha256 { get; init; }
}
