using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Seg.Storage.Blobs;

namespace Seg.Storage.Health;

/// <summary>
/// Readiness checks of the farm's storage, one per dependency so that <c>/readyz</c> names the one that is down:
/// <c>database</c> (a query through <see cref="SegDbContext"/>) and <c>blob-store</c> (a request to the image store).
/// Each is bounded in time by the host's service defaults (<c>AddSegReadinessTimeouts</c> in Seg.ServiceDefaults), which
/// give every readiness check, these and the broker's, <c>Health:ReadyCheckTimeoutSeconds</c> (5 s): a dependency that
/// hangs makes <c>/readyz</c> answer 503 naming it.
/// </summary>
public static class StorageHealthChecks
{
    /// <summary>The tag of every readiness check (<c>/readyz</c> runs the checks that carry it).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Name of the database check.</summary>
    public const string Database = "database";

    /// <summary>Name of the blob store check.</summary>
    public const string BlobStore = "blob-store";

    /// <summary>Adds the <see cref="Database"/> and <see cref="BlobStore"/> readiness checks.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddSegStorageChecks(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddDbContextCheck<SegDbContext>(Database, tags: [ReadyTag])
            .AddCheck<ImageBlobStoreHealthCheck>(BlobStore, tags: [ReadyTag]);
    }
}

/// <summary>
/// Healthy when the image store answers: a lookup of a blob that is never written (an empty task id). A missing
/// container still answers (the blob is reported absent); a store that cannot be reached throws.
/// </summary>
/// <param name="blobs">The image store.</param>
internal sealed class ImageBlobStoreHealthCheck(IImageBlobStore blobs) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await blobs.ExistsAsync(ImageBlobNames.ForTask(Guid.Empty), cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            // The readiness timeout (Health:ReadyCheckTimeoutSeconds) ran out while the client retried: say which store.
            return new HealthCheckResult(context.Registration.FailureStatus,
                string.Create(CultureInfo.InvariantCulture,
                    $"the image store does not answer within the readiness timeout ({context.Registration.Timeout.TotalSeconds:0.#} s)"), e);
        }
        catch (Exception e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"the image store does not answer: {e.Message}", e);
        }
    }
}
