using System.Text.Json;
using Microsoft.Extensions.Options;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Dispatch;
using Seg.ServiceDefaults;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Sweeps;

/// <summary>
/// Stores a validated sweep: the sweep row and its full expansion, one pending task per image, in one transaction
/// (the task table is the outbox the dispatcher reads). A repeated idempotency key returns the first sweep.
/// </summary>
/// <param name="writer">Bulk insert of the sweep and its tasks.</param>
/// <param name="options">Coordinator options (max attempts).</param>
/// <param name="signal">Wakes the dispatcher.</param>
/// <param name="metrics">Counters.</param>
public sealed class SweepSubmitter(
    TaskBulkWriter writer,
    IOptions<CoordinatorOptions> options,
    DispatchSignal signal,
    CoordinatorMetrics metrics)
{
    /// <summary>Stores <paramref name="definition"/>, which must have passed <see cref="SweepValidator"/>.</summary>
    /// <param name="definition">The sweep.</param>
    /// <param name="idempotencyKey">The client's key for this submit, or null.</param>
    /// <param name="cancellationToken">Cancels the submit (nothing is written).</param>
    /// <returns>The stored sweep's id (or the first sweep's, for a repeated key), whether it was created, its task count.</returns>
    public async Task<SweepInsertResult> SubmitAsync(SweepDefinition definition, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var activity = SegTelemetry.ActivitySource.StartActivity("sweep.submit");
        var sweepId = Guid.CreateVersion7();
        var sweep = new Sweep
        {
            Id = sweepId,
            Name = string.IsNullOrWhiteSpace(definition.Name) ? sweepId.ToString() : definition.Name,
            IdempotencyKey = idempotencyKey,
            DefinitionJson = SweepParser.ToJson(definition),
            TagsJson = JsonSerializer.Serialize(definition.Tags),
            Priority = definition.Priority,
            MaxAttempts = options.Value.MaxAttempts,
        };
        // Streamed into COPY: a sweep of a million tasks is never held in memory.
        var tasks = SweepExpander.Expand(sweepId, definition).Select(spec => new NewRenderTask(
            spec.TaskId,
            checked((int)spec.TaskIndex),
            spec.Parameters.Model,
            JsonSerializer.Serialize(spec.Parameters)));

        var result = await writer.InsertSweepAsync(sweep, tasks, cancellationToken).ConfigureAwait(false);
        activity?.SetTag("seg.sweep.id", result.SweepId);
        activity?.SetTag("seg.sweep.tasks", result.TaskCount);
        activity?.SetTag("seg.sweep.created", result.Created);
        if (result.Created)
        {
            metrics.SweepSubmitted();
            signal.Notify();
        }

        return result;
    }
}
