using Microsoft.AspNetCore.Http.HttpResults;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Web;

namespace Seg.Coordinator.Apis;

/// <summary>Pictures for people: a task's thumbnail and a sweep's grid as one contact sheet.</summary>
public static class GridApi
{
    /// <summary>Maps <c>/api/images/{taskId}/thumbnail</c> and <c>/api/sweeps/{id}/grid.png</c>.</summary>
    public static IEndpointRouteBuilder MapGridApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/images/{taskId:guid}/thumbnail", GetThumbnailAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Images").WithName("GetThumbnail").WithSummary("A small JPEG of a task's image, made once and kept beside it")
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg");
        app.MapGet("/api/sweeps/{id:guid}/grid.png", GetContactSheetAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Images").WithName("GetContactSheet")
            .WithSummary("The sweep's grid as one PNG with axis labels: rows=FIELD, cols=FIELD, and FIELD=VALUE for the other swept fields")
            .Produces(StatusCodes.Status200OK, contentType: "image/png");
        return app;
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetThumbnailAsync(
        Guid taskId, Thumbnails thumbnails, HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            var jpeg = await thumbnails.GetAsync(taskId, cancellationToken).ConfigureAwait(false);
            // A task's image never changes once stored: let the browser keep it.
            context.Response.Headers.CacheControl = "private, max-age=86400, immutable";
            return TypedResults.File(jpeg, "image/jpeg");
        }
        catch (FileNotFoundException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Image not found", detail: $"no image is stored for task {taskId}");
        }
    }

    internal static async Task<Results<FileContentHttpResult, ValidationProblem, ProblemHttpResult>> GetContactSheetAsync(
        Guid id, HttpRequest request, WebQueries queries, ContactSheet sheet, CancellationToken cancellationToken)
    {
        var definition = await queries.DefinitionAsync(id, cancellationToken).ConfigureAwait(false);
        if (definition is null)
        {
            return ApiProblems.SweepNotFound(id);
        }

        var errors = new List<ValidationError>();
        var grid = GridView.From(definition, request.Query, errors);
        if (grid is null)
        {
            return ApiProblems.Invalid(errors, "The grid is not valid");
        }

        var tasks = await queries.TasksAtAsync(id, [.. grid.Cells.Select(c => c.TaskIndex)], cancellationToken).ConfigureAwait(false);
        var title = definition.Name is { Length: > 0 } name ? name : id.ToString();
        if (grid.Fixed.Count > 0)
        {
            title += $"  ({grid.FixedText})";
        }

        return TypedResults.File(await sheet.RenderAsync(title, grid, tasks, cancellationToken).ConfigureAwait(false), "image/png");
    }
}
