using Microsoft.AspNetCore.Http.HttpResults;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Workers;

namespace Seg.Coordinator.Apis;

/// <summary><c>/api/workers</c>: the workers seen through their heartbeats.</summary>
public static class WorkersApi
{
    /// <summary>Maps the worker endpoints.</summary>
    public static IEndpointRouteBuilder MapWorkersApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/workers", ListWorkersAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Workers").WithName("ListWorkers")
            .WithSummary("Each worker's health, devices, slots, throughput, cached models and sweeps it keeps failing");
        return app;
    }

    internal static async Task<Ok<IReadOnlyList<WorkerView>>> ListWorkersAsync(WorkerQueries workers, CancellationToken cancellationToken) =>
        TypedResults.Ok(await workers.ListAsync(cancellationToken).ConfigureAwait(false));
}
