using Microsoft.AspNetCore.Http.HttpResults;
using Seg.Coordinator.Audit;
using Seg.Coordinator.Auth;

namespace Seg.Coordinator.Apis;

/// <summary><c>/api/admin</c>: operations on the farm as a whole.</summary>
public static class AdminApi
{
    /// <summary>Maps the admin endpoints.</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/admin/blob-audit", RequestBlobAudit)
            .RequireScope(ApiScopes.Admin)
            .WithTags("Admin").WithName("RequestBlobAudit")
            .WithSummary("Audits the blob store against the provenance rows and renders again the images whose blob is gone " +
                "(e.g. after blobs were deleted by hand); 202: it runs in the background, its outcome is logged and counted " +
                "in seg_tasks_resent_total{reason=\"blob_lost\"}");
        return app;
    }

    internal static Accepted RequestBlobAudit(BlobAuditService audits, HttpContext context)
    {
        audits.Request($"requested through the API by {context.User.Identity?.Name ?? AuthOptions.AnonymousName}");
        return TypedResults.Accepted((string?)null);
    }
}
