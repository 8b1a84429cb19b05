using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Dispatch;
using Seg.ServiceDefaults;
using Seg.Storage.Entities;
using Seg.Storage.Tasks;

namespace Seg.Coordinator.Sweeps;

/// <summary>The outcome of submitting a sweep's text: stored, or refused with every broken rule (nothing written).</summary>
/// <param name="Stored">The stored sweep (or the first one, for a repeated idempotency key); null when refused.</param>
/// <param name="Errors">Every broken rule, each naming its field; empty when stored.</param>
public sealed record SweepSubmission(SweepInsertResult? Stored, IReadOnlyList<ValidationError> Errors)
{
    /// <summary>
    /// True when the idempotency key is already stored with a different sweep: the submit is refused (HTTP 422) rather
    /// than answered with a sweep that is not the one sent. <see cref="Errors"/> names the key.
    /// </summary>
    public bool IdempotencyKeyReused { get; init; }

    /// <summary>True when the sweep was stored (or had been, for a repeated idempotency key).</summary>
    [MemberNotNullWhen(true, nameof(Stored))]
    public bool Succeeded => Stored is not null;
}

/// <summary>
/// Stores a validated sweep: the sweep row and its full expansion, one pending task per image, in one transaction
/// (the task table is the outbox the dispatcher reads). A repeated idempotency key returns the first sweep.
/// </summary>
/// <param name="writer">Bulk insert of the sweep and its tasks.</param>
/// <param name="options">Coordinator options (max attempts, sweep limits).</param>
/// <param name="signal">Wakes the dispatcher.</param>
/// <param name="metrics">Counters.</param>
public sealed class SweepSubmitter(
    TaskBulkWriter writer,
    IOptions<CoordinatorOptions> options,
    DispatchSignal signal,
    CoordinatorMetrics metrics)
{
    /// <summary>Longest idempotency key stored.</summary>
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>Longest model name a task row stores.</summary>
    public const int MaxModelLength = 200;

    /// <summary>The field name of the idempotency key in <see cref="ValidationError"/>s (the HTTP header's name).</summary>
    public const string IdempotencyKeyField = "Idempotency-Key";

    /// <summary>
    /// Reads a sweep from YAML or JSON, checks it against every rule (<see cref="SweepParser.ParseAndValidate"/> with
    /// <see cref="CoordinatorOptions.SweepLimits"/>, then <see cref="CheckStorable"/>) and stores it. A sweep that
    /// breaks a rule is refused with all its errors and nothing is written.
    /// </summary>
    /// <param name="text">The sweep, YAML or JSON.</param>
    /// <param name="fileNameOrContentType">A file name or media type naming the format (e.g. <c>sweep.yaml</c>), or null to tell by the text.</param>
    /// <param name="idempotencyKey">The client's key for this submit, or null.</param>
    /// <param name="submittedBy">Who submits: the API key's name (never the key), stored on the sweep.</param>
    /// <param name="cancellationToken">Cancels the submit (nothing is written).</param>
    /// <returns>The stored sweep, or the errors.</returns>
    public async Task<SweepSubmission> SubmitAsync(
        string text, string? fileNameOrContentType, string? idempotencyKey, string submittedBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parsed = SweepParser.ParseAndValidate(text, fileNameOrContentType, options.Value.SweepLimits);
        if (!parsed.Succeeded)
        {
            return new SweepSubmission(null, parsed.Errors);
        }

        var errors = CheckStorable(parsed.Definition, idempotencyKey);
        if (errors.Count > 0)
        {
            return new SweepSubmission(null, errors);
        }

        var stored = await StoreAsync(parsed.Definition, idempotencyKey, submittedBy, cancellationToken).ConfigureAwait(false);
        if (!stored.Created && stored.ExistingDefinitionSha256 is { Length: > 0 } existing && existing != DefinitionSha256(parsed.Definition))
        {
            return new SweepSubmission(null,
                [new ValidationError(IdempotencyKeyField, $"'{idempotencyKey}' was already used for sweep {stored.SweepId} with a different definition; use a new key for a new sweep")])
            {
                IdempotencyKeyReused = true,
            };
        }

        return new SweepSubmission(stored, []);
    }

    /// <summary>
    /// Stores <paramref name="definition"/>. It is checked again first (<see cref="SweepValidator"/> with
    /// <see cref="CoordinatorOptions.SweepLimits"/>, and <see cref="CheckStorable"/>): SQLite does not enforce column
    /// lengths, so nothing unchecked may reach the database.
    /// </summary>
    /// <param name="definition">The sweep.</param>
    /// <param name="idempotencyKey">The client's key for this submit, or null.</param>
    /// <param name="submittedBy">Who submits: the API key's name (never the key), stored on the sweep.</param>
    /// <param name="cancellationToken">Cancels the submit (nothing is written).</param>
    /// <returns>The stored sweep's id (or the first sweep's, for a repeated key), whether it was created, its task count.</returns>
    /// <exception cref="ArgumentException">The sweep or the key breaks a rule; the message lists every broken rule.</exception>
    public async Task<SweepInsertResult> SubmitAsync(SweepDefinition definition, string? idempotencyKey, string submittedBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = SweepValidator.Validate(definition, options.Value.SweepLimits).Concat(CheckStorable(definition, idempotencyKey)).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"the sweep cannot be stored: {string.Join("; ", errors)}", nameof(definition));
        }

        return await StoreAsync(definition, idempotencyKey, submittedBy, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The rules a valid sweep must also meet to be stored: the model name fits its column
    /// (<see cref="MaxModelLength"/>), and an idempotency key, when given, is 1 to <see cref="MaxIdempotencyKeyLength"/>
    /// characters and not blank.
    /// </summary>
    /// <param name="definition">The sweep, valid by <see cref="SweepValidator"/>.</param>
    /// <param name="idempotencyKey">The client's key, or null.</param>
    /// <returns>Every broken rule; empty when it can be stored.</returns>
    public static IReadOnlyList<ValidationError> CheckStorable(SweepDefinition definition, string? idempotencyKey)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<ValidationError>();
        if (CheckIdempotencyKey(idempotencyKey) is { } keyError)
        {
            errors.Add(keyError);
        }

        if (definition.Model.Length > MaxModelLength)
        {
            errors.Add(new ValidationError("model", $"must be at most {MaxModelLength} characters (got {definition.Model.Length})"));
        }

        return errors;
    }

    /// <summary>The rule an idempotency key breaks, or null when it is fine (or absent).</summary>
    /// <param name="idempotencyKey">The client's key, or null.</param>
    /// <returns>The error, named <see cref="IdempotencyKeyField"/>, or null.</returns>
    public static ValidationError? CheckIdempotencyKey(string? idempotencyKey) =>
        idempotencyKey is not null && (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > MaxIdempotencyKeyLength)
            ? new ValidationError(IdempotencyKeyField, $"must be 1 to {MaxIdempotencyKeyLength} characters, not blank (got {idempotencyKey.Length})")
            : null;

    /// <summary>SHA-256 (hex) of the definition as stored: the same sweep in YAML or JSON has the same one.</summary>
    private static string DefinitionSha256(SweepDefinition definition) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SweepParser.ToJson(definition))));

    private async Task<SweepInsertResult> StoreAsync(SweepDefinition definition, string? idempotencyKey, string submittedBy, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(submittedBy);
        using var activity = SegTelemetry.ActivitySource.StartActivity("sweep.submit");
        var sweepId = Guid.CreateVersion7();
        var sweep = new Sweep
        {
            Id = sweepId,
            Name = string.IsNullOrWhiteSpace(definition.Name) ? sweepId.ToString() : definition.Name,
            IdempotencyKey = idempotencyKey,
            SubmittedBy = submittedBy,
            DefinitionSha256 = DefinitionSha256(definition),
            DefinitionJson = SweepParser.ToJson(definition),
            TagsJson = JsonSerializer.Serialize(definition.Tags),
            Priority = definition.Priority,
            MaxAttempts = options.Value.MaxAttempts,
        };
        // Streamed into the bulk insert: a sweep of a million tasks is never held in memory.
        var tasks = SweepExpander.Expand(sweepId, definition).Select(spec => new NewRenderTask(
            spec.TaskId,
            checked((int)spec.TaskIndex),
            spec.Parameters.Model,
            SubmitSpan(sweepId, spec)));

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

    /// <summary>
    /// The task's own trace begins here: a root span per task (linked to the submit request), whose traceparent the
    /// task row keeps for the dispatch to continue. Null when tracing is off.
    /// </summary>
    private static string? SubmitSpan(Guid sweepId, RenderTaskSpec spec)
    {
        using var span = SegTelemetry.StartRootActivity("seg.task.submit", ActivityKind.Producer);
        SegTelemetry.SetTaskTags(span, spec.TaskId, sweepId, spec.Parameters);
        // Messaging conventions: the "create" operation of a message that is sent later (by the dispatcher).
        span?.SetTag("messaging.operation.type", "create");
        span?.SetTag("messaging.system", "rabbitmq");
        return SegTelemetry.TraceParentOf(span);
    }
}
