using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Apis;

/// <summary><c>/api/sweeps</c>: submit, list, read, cancel, pause, resume and requeue sweeps.</summary>
public static partial class SweepsApi
{
    /// <summary>The request header that makes a submit idempotent.</summary>
    public const string IdempotencyKeyHeader = SweepSubmitter.IdempotencyKeyField;

    /// <summary>Maps the sweep endpoints.</summary>
    public static IEndpointRouteBuilder MapSweepsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/sweeps").WithTags("Sweeps");

        api.MapPost("/", SubmitSweepAsync)
            .RequireScope(ApiScopes.Submit)
            .RequireRateLimiting(AuthServiceExtensions.SubmitRateLimit)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithName("SubmitSweep")
            .WithSummary("Submit a sweep (YAML or JSON); it is validated, expanded to one task per image and stored")
            .Accepts<SweepDefinition>(SweepRequestBody.MediaTypes[0], SweepRequestBody.MediaTypes[1..])
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("/", ListSweepsAsync).RequireScope(ApiScopes.Read).WithName("ListSweeps").WithSummary("Sweeps, newest first, optionally filtered by status");
        api.MapGet("/{id:guid}", GetSweepAsync).RequireScope(ApiScopes.Read).WithName("GetSweep").WithSummary("A sweep with its progress, ETA, cost and stuck tasks");
        MapCommand(api, "cancel", "CancelSweep", "Cancel the sweep: tasks not yet started are cancelled", commands => commands.CancelAsync);
        MapCommand(api, "pause", "PauseSweep", "Stop dispatching the sweep's tasks; those already sent finish", commands => commands.PauseAsync);
        MapCommand(api, "resume", "ResumeSweep", "Dispatch a paused sweep again", commands => commands.ResumeAsync);
        MapCommand(api, "requeue-failed", "RequeueFailedTasks", "Put failed tasks that have attempts left back to pending", commands => commands.RequeueFailedAsync);
        return app;
    }

    /// <summary>
    /// Maps only the sweep reads (list and one sweep), for a read-only host (<c>seg serve</c>); the coordinator maps
    /// them with the rest in <see cref="MapSweepsApi"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapSweepReadApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/sweeps").WithTags("Sweeps");
        api.MapGet("/", ListSweepsAsync).RequireScope(ApiScopes.Read);
        api.MapGet("/{id:guid}", GetSweepAsync).RequireScope(ApiScopes.Read);
        return app;
    }

    /// <summary>
    /// Submits a sweep: 201 with the new sweep; 200 with the first sweep for a repeated idempotency key with the same
    /// sweep; 422 for a repeated key with a different sweep; 400 with field-level errors (nothing is stored).
    /// </summary>
    internal static async Task<Results<Created<SweepSummary>, Ok<SweepSummary>, ValidationProblem, ProblemHttpResult>> SubmitSweepAsync(
        HttpRequest request,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        SweepSubmitter submitter,
        SweepQueries queries,
        IOptions<CoordinatorOptions> options,
        ILogger<SweepSubmitter> logger,
        CancellationToken cancellationToken)
    {
        var maxBytes = options.Value.MaxSweepBytes;
        if (SweepRequestBody.LimitSize(request.HttpContext, maxBytes) is { } tooLarge)
        {
            return tooLarge;
        }

        var submittedBy = request.HttpContext.User.Identity?.Name ?? AuthOptions.AnonymousName;
        if (SweepSubmitter.CheckIdempotencyKey(idempotencyKey) is { } keyError)
        {
            return ApiProblems.Invalid([keyError], "The Idempotency-Key header is not valid");
        }

        if (await SweepRequestBody.ReadAsync(request, maxBytes, cancellationToken).ConfigureAwait(false) is not { } text)
        {
            return SweepRequestBody.TooLarge(maxBytes, null);
        }

        var submission = await submitter.SubmitAsync(text, SweepRequestBody.FormatOf(request.ContentType), idempotencyKey, submittedBy, cancellationToken)
            .ConfigureAwait(false);
        if (submission.IdempotencyKeyReused)
        {
            return ApiProblems.Unprocessable(submission.Errors, "The Idempotency-Key was used for another sweep");
        }

        if (!submission.Succeeded)
        {
            return ApiProblems.Invalid(submission.Errors, "The sweep is not valid");
        }

        var stored = submission.Stored;
        LogSubmitted(logger, stored.SweepId, stored.TaskCount, submittedBy, stored.Created);
        var summary = await queries.GetAsync(stored.SweepId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"sweep {stored.SweepId} was stored but cannot be read");
        var location = $"/api/sweeps/{stored.SweepId}";
        if (stored.Created)
        {
            return TypedResults.Created(location, summary);
        }

        request.HttpContext.Response.Headers.Location = location;
        return TypedResults.Ok(summary);
    }

    /// <summary>One page of sweeps, newest first.</summary>
    internal static async Task<Results<Ok<SweepPage>, ValidationProblem>> ListSweepsAsync(
        string? status,
        string? page,
        string? pageSize,
        SweepQueries queries,
        CancellationToken cancellationToken)
    {
        var errors = ApiProblems.CheckPaging(page, pageSize, out var pageNumber, out var size);
        SweepStatus? wanted = null;
        if (!string.IsNullOrEmpty(status))
        {
            var names = Enum.GetNames<SweepStatus>();
            var match = names.FirstOrDefault(n => n.Equals(status, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                errors.Add(new ValidationError("status", $"must be one of {string.Join(", ", names.Select(n => n.ToLowerInvariant()))} (got '{status}')"));
            }
            else
            {
                wanted = Enum.Parse<SweepStatus>(match);
            }
        }

        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, "The query is not valid");
        }

        return TypedResults.Ok(await queries.ListAsync(wanted, pageNumber, size, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>One sweep with its detail.</summary>
    internal static async Task<Results<Ok<SweepSummary>, ProblemHttpResult>> GetSweepAsync(Guid id, SweepQueries queries, CancellationToken cancellationToken) =>
        await queries.GetDetailAsync(id, cancellationToken).ConfigureAwait(false) is { } sweep
            ? TypedResults.Ok(sweep)
            : ApiProblems.SweepNotFound(id);

    // POST /api/sweeps/{id}/ACTION: an operator's command on one sweep, answered with the sweep as it is afterwards.
    private static void MapCommand(
        RouteGroupBuilder api,
        string action,
        string name,
        string summary,
        Func<SweepCommands, Func<Guid, CancellationToken, Task<SweepCommandResult>>> command) =>
        api.MapPost($"/{{id:guid}}/{action}", (Guid id, SweepCommands commands, SweepQueries queries, CancellationToken ct) =>
                RunCommandAsync(action, id, command(commands), queries, ct))
            .RequireScope(ApiScopes.Operate)
            .WithName(name)
            .WithSummary(summary)
            .ProducesProblem(StatusCodes.Status409Conflict);

    private static async Task<Results<Ok<SweepActionResponse>, ProblemHttpResult>> RunCommandAsync(
        string action,
        Guid id,
        Func<Guid, CancellationToken, Task<SweepCommandResult>> command,
        SweepQueries queries,
        CancellationToken cancellationToken)
    {
        var result = await command(id, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case SweepCommandOutcome.NotFound:
                return ApiProblems.SweepNotFound(id);
            case SweepCommandOutcome.Conflict:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: $"The sweep cannot be {Past(action)}", detail: result.Reason);
            default:
                var sweep = await queries.GetAsync(id, cancellationToken).ConfigureAwait(false);
                return sweep is null ? ApiProblems.SweepNotFound(id) : TypedResults.Ok(new SweepActionResponse(action, result.TasksAffected, sweep));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId} ({TaskCount} tasks) submitted by key {ApiKey} (new: {Created})")]
    private static partial void LogSubmitted(ILogger logger, Guid sweepId, int taskCount, string apiKey, bool created);

    private static string Past(string action) => action switch
    {
        "cancel" => "cancelled",
        "pause" => "paused",
        "resume" => "resumed",
        _ => "requeued",
    };
}
