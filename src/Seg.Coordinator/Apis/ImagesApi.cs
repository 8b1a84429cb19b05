using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Images;
using Seg.Coordinator.Sweeps;
using Seg.Storage.Blobs;

namespace Seg.Coordinator.Apis;

/// <summary>Images: a sweep's provenance rows, and each PNG streamed from the blob store.</summary>
public static class ImagesApi
{
    private const string GetImageRoute = "GetImage";

    /// <summary>Maps <c>/api/sweeps/{id}/images</c> and <c>/api/images/{taskId}</c>.</summary>
    public static IEndpointRouteBuilder MapImagesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sweeps/{id:guid}/images", ListImagesAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Images").WithName("ListSweepImages").WithSummary("A sweep's images with their provenance, in task order");
        app.MapGet("/api/images/{taskId:guid}", GetImageAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Images").WithName(GetImageRoute).WithSummary("The PNG of a task")
            .Produces(StatusCodes.Status200OK, contentType: "image/png");
        return app;
    }

    internal static async Task<Results<Ok<ImagePage>, ValidationProblem, ProblemHttpResult>> ListImagesAsync(
        Guid id,
        string? page,
        string? pageSize,
        HttpContext context,
        LinkGenerator links,
        IOptions<CoordinatorOptions> options,
        SweepQueries sweeps,
        ImageQueries images,
        CancellationToken cancellationToken)
    {
        var errors = ApiProblems.CheckPaging(page, pageSize, out var pageNumber, out var size);
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, "The query is not valid");
        }

        if (await sweeps.StatusAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            return ApiProblems.SweepNotFound(id);
        }

        // Never from the request's Host header, which the client controls: Coordinator:PublicBaseUrl, or a path.
        var publicBase = options.Value.PublicBaseUrl;
        string ImageUrl(Guid taskId)
        {
            var path = links.GetPathByName(context, GetImageRoute, new { taskId }) ?? throw new InvalidOperationException($"no route named {GetImageRoute}");
            return publicBase is null ? path : new Uri(publicBase, path.TrimStart('/')).ToString();
        }
        return TypedResults.Ok(await images.ListAsync(id, pageNumber, size, ImageUrl, cancellationToken).ConfigureAwait(false));
    }

    internal static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetImageAsync(
        Guid taskId,
        ImageQueries images,
        IImageBlobStore blobs,
        CancellationToken cancellationToken)
    {
        // The provenance row names the blob (the naming scheme may differ between a farm and a standalone run).
        var name = await images.BlobNameAsync(taskId, cancellationToken).ConfigureAwait(false);
        try
        {
            if (name is not null)
            {
                return TypedResults.Stream(await blobs.OpenReadAsync(name, cancellationToken).ConfigureAwait(false), "image/png");
            }
        }
        catch (FileNotFoundException)
        {
        }
        return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Image not found", detail: $"no image is stored for task {taskId}");
    }
}
