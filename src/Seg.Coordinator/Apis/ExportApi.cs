using Microsoft.AspNetCore.Http.HttpResults;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Auth;
using Seg.Export;
using Seg.Storage;
using Seg.Storage.Blobs;

namespace Seg.Coordinator.Apis;

/// <summary>A sweep as a dataset, streamed: one WebDataset tar or one Parquet file (<see cref="DatasetExporter"/>).</summary>
public static class ExportApi
{
    /// <summary>Maps <c>GET /api/sweeps/{id}/export?format=webdataset|parquet[&amp;status=...][&amp;where=PARAM=VALUE]</c>.</summary>
    public static IEndpointRouteBuilder MapExportApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sweeps/{id:guid}/export", ExportAsync)
            .RequireScope(ApiScopes.Read)
            .WithTags("Images").WithName("ExportSweep")
            .WithSummary("The sweep's images as a dataset, streamed: a WebDataset tar (KEY.png + KEY.json) or a Parquet file")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-tar")
            .Produces(StatusCodes.Status200OK, contentType: "application/vnd.apache.parquet");
        return app;
    }

    internal static async Task<Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> ExportAsync(
        Guid id,
        string? format,
        string[]? status,
        string[]? where,
        SegDbContext db,
        IImageBlobStore blobs,
        CancellationToken cancellationToken)
    {
        ExportFormat chosen;
        ExportFilter filter;
        try
        {
            chosen = ExportFormats.Parse(format, "format");
            _ = DatasetExporter.ContentType(chosen);
            filter = ExportFilter.Parse(status, where, "status", "where");
        }
        catch (ExportException e)
        {
            var field = e.Message[..e.Message.IndexOf(':', StringComparison.Ordinal)];
            return ApiProblems.Invalid([new ValidationError(field, e.Message[(field.Length + 2)..])], "The export request is not valid");
        }

        DatabaseExportSource source;
        try
        {
            source = await DatabaseExportSource.OpenAsync(db, blobs, id, cancellationToken).ConfigureAwait(false);
        }
        catch (ExportException)
        {
            return ApiProblems.SweepNotFound(id);
        }

        // Written as it is read: one sample (Parquet: one row group) in memory. A failure half way aborts the response,
        // which then lacks the format's end and a chunked body's last chunk: no client takes it for a whole export.
        return TypedResults.Stream(
            body => DatasetExporter.StreamAsync(source, chosen, filter, body, cancellationToken),
            DatasetExporter.ContentType(chosen),
            DatasetExporter.FileName(chosen, source.SweepName));
    }
}
