using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Seg.Storage.Blobs;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;
using Seg.Storage.Workers;

namespace Seg.Storage;

/// <summary>Registers the farm's storage: the PostgreSQL context, its writers and the image blob store.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Configuration key of the PostgreSQL connection string.</summary>
    public const string PostgresConnectionStringKey = "ConnectionStrings:Postgres";

    /// <summary>
    /// Registers <see cref="SegDbContext"/> (Npgsql, <c>ConnectionStrings:Postgres</c>), the scoped
    /// <see cref="TaskBulkWriter"/>, <see cref="TaskTransitions"/>, <see cref="SweepTransitions"/>,
    /// <see cref="ProvenanceWriter"/> and <see cref="WorkerHeartbeatWriter"/>, the
    /// <see cref="BlobStorageOptions"/>, and an <see cref="IImageBlobStore"/>: a
    /// <see cref="LocalFolderImageBlobStore"/> when <c>BlobStorage:LocalFolder</c> is set, otherwise an
    /// <see cref="AzureImageBlobStore"/> (created on first use, so hosts that never store images need no
    /// blob connection string).
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Application configuration.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:Postgres</c> is not set.</exception>
    public static IServiceCollection AddSegStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var connectionString = configuration.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{PostgresConnectionStringKey} must be set (e.g. env ConnectionStrings__Postgres=Host=127.0.0.1;Port=55432;Username=postgres;Database=seg)");
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddDbContext<SegDbContext>(options => SegDbContext.Configure(options, connectionString));
        services.AddScoped<TaskBulkWriter>();
        services.AddScoped<TaskTransitions>();
        services.AddScoped<SweepTransitions>();
        services.AddScoped<ProvenanceWriter>();
        services.AddScoped<WorkerHeartbeatWriter>();

        var blobOptions = BlobStorageOptions.FromConfiguration(configuration);
        services.AddSingleton(blobOptions);
        services.AddSingleton<IOptions<BlobStorageOptions>>(Options.Create(blobOptions));
        services.AddSingleton<IImageBlobStore>(_ => string.IsNullOrWhiteSpace(blobOptions.LocalFolder)
            ? new AzureImageBlobStore(blobOptions)
            : new LocalFolderImageBlobStore(blobOptions.LocalFolder));
        return services;
    }
}
