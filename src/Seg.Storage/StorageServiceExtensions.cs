using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Seg.Storage.Audit;
using Seg.Storage.Blobs;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;
using Seg.Storage.Workers;

namespace Seg.Storage;

/// <summary>Registers the farm's storage: the database context, its writers and the image blob store.</summary>
public static class StorageServiceExtensions
{
    /// <summary>Configuration key of the PostgreSQL connection string.</summary>
    public const string PostgresConnectionStringKey = "ConnectionStrings:Postgres";

    /// <summary>Configuration key of the SQLite connection string (e.g. <c>Data Source=/data/seg.db</c>).</summary>
    public const string SqliteConnectionStringKey = "ConnectionStrings:Sqlite";

    /// <summary>Configuration key that names the database provider: <c>postgres</c> (the default) or <c>sqlite</c>.</summary>
    public const string ProviderKey = "Storage:Provider";

    /// <summary>
    /// Registers <see cref="SegDbContext"/>, the scoped <see cref="TaskBulkWriter"/>,
    /// <see cref="TaskTransitions"/>, <see cref="SweepTransitions"/>, <see cref="ProvenanceWriter"/> and
    /// <see cref="WorkerHeartbeatWriter"/>, <see cref="SweepOutcomes"/>, <see cref="BlobAudit"/>, the
    /// <see cref="BlobStorageOptions"/>, and an <see cref="IImageBlobStore"/> (also the <see cref="IImageBlobInventory"/>): a <see cref="LocalFolderImageBlobStore"/> when
    /// <c>BlobStorage:LocalFolder</c> is set, otherwise an <see cref="AzureImageBlobStore"/> (created on
    /// first use, so hosts that never store images need no blob connection string).
    /// <para>
    /// The database is PostgreSQL (<c>ConnectionStrings:Postgres</c>) unless <c>Storage:Provider</c> is
    /// <c>sqlite</c>, or <c>Storage:Provider</c> is unset and only <c>ConnectionStrings:Sqlite</c> is set;
    /// then it is SQLite with that connection string. Create or migrate the schema at start with
    /// <see cref="SegDatabaseInitializer.InitializeAsync"/>.
    /// </para>
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Application configuration.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">The chosen provider's connection string is not set, or <c>Storage:Provider</c> names no provider.</exception>
    public static IServiceCollection AddSegStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var provider = SelectProvider(configuration);
        if (provider == SegDatabaseProvider.Sqlite)
        {
            var sqlite = configuration.GetConnectionString("Sqlite");
            if (string.IsNullOrWhiteSpace(sqlite))
            {
                throw new InvalidOperationException(
                    $"{SqliteConnectionStringKey} must be set when {ProviderKey} is sqlite (e.g. env ConnectionStrings__Sqlite='Data Source=/data/seg.db')");
            }

            AddDatabase(services, options => SegDbContext.ConfigureSqlite(options, sqlite));
        }
        else
        {
            var connectionString = configuration.GetConnectionString("Postgres");
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    $"{PostgresConnectionStringKey} must be set (e.g. env ConnectionStrings__Postgres=Host=127.0.0.1;Port=55432;Username=postgres;Database=seg), " +
                    $"or {SqliteConnectionStringKey} for a SQLite database");
            }

            AddDatabase(services, options => SegDbContext.Configure(options, connectionString));
        }

        var blobOptions = BlobStorageOptions.FromConfiguration(configuration);
        services.AddSingleton(blobOptions);
        services.AddSingleton<IOptions<BlobStorageOptions>>(Options.Create(blobOptions));
        services.AddSingleton<IImageBlobStore>(_ => string.IsNullOrWhiteSpace(blobOptions.LocalFolder)
            ? new AzureImageBlobStore(blobOptions)
            : new LocalFolderImageBlobStore(blobOptions.LocalFolder));
        services.AddThumbnailsBesideImages();
        return services;
    }

    /// <summary>
    /// Registers the storage of the standalone mode: <see cref="SegDbContext"/> on the SQLite file
    /// <paramref name="databasePath"/> (see <see cref="SegDbContext.SqliteConnectionString"/>), the same
    /// scoped writers as <see cref="AddSegStorage"/>, and a <see cref="LocalFolderImageBlobStore"/> in
    /// <paramref name="imagesFolder"/>. Create the schema at start with
    /// <see cref="SegDatabaseInitializer.InitializeAsync"/>.
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="databasePath">SQLite database file (created when missing).</param>
    /// <param name="imagesFolder">Folder for the PNGs (created when missing).</param>
    /// <param name="readOnly">Open the database read only (<c>seg serve</c> over a finished run); it must exist.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddSegStorageSqlite(this IServiceCollection services, string databasePath, string imagesFolder, bool readOnly = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (string.IsNullOrWhiteSpace(databasePath))
        {
            throw new ArgumentException("SQLite database path must not be empty", nameof(databasePath));
        }

        if (string.IsNullOrWhiteSpace(imagesFolder))
        {
            throw new ArgumentException("images folder must not be empty", nameof(imagesFolder));
        }

        var connectionString = SegDbContext.SqliteConnectionString(databasePath);
        if (readOnly)
        {
            connectionString = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString) { Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly }.ToString();
        }

        AddDatabase(services, options => SegDbContext.ConfigureSqlite(options, connectionString));

        // Readable names in one folder: a person browses a standalone run's images.
        var blobOptions = new BlobStorageOptions { LocalFolder = Path.GetFullPath(imagesFolder), Naming = ImageBlobNaming.Readable };
        services.AddSingleton(blobOptions);
        services.AddSingleton<IOptions<BlobStorageOptions>>(Options.Create(blobOptions));
        services.AddSingleton<IImageBlobStore>(_ => new LocalFolderImageBlobStore(blobOptions.LocalFolder));
        services.AddThumbnailsBesideImages();
        return services;
    }

    /// <summary>
    /// The <see cref="IThumbnailStore"/> is the image store itself (both stores keep thumbnails beside the PNGs), unless
    /// the host registered one of its own first (<c>seg serve</c> keeps them outside the read-only run folder).
    /// </summary>
    private static void AddThumbnailsBesideImages(this IServiceCollection services)
    {
        services.TryAddSingleton<IThumbnailStore>(provider => provider.GetRequiredService<IImageBlobStore>() as IThumbnailStore
            ?? throw new InvalidOperationException("the registered IImageBlobStore keeps no thumbnails; register an IThumbnailStore"));
        // The blob audit's listing is the image store's too (both stores list their names).
        services.TryAddSingleton<IImageBlobInventory>(provider => provider.GetRequiredService<IImageBlobStore>() as IImageBlobInventory
            ?? throw new InvalidOperationException("the registered IImageBlobStore cannot list its names; register an IImageBlobInventory"));
        services.TryAddScoped<BlobAudit>();
    }

    /// <summary>The provider the configuration asks for (see <see cref="AddSegStorage"/>).</summary>
    /// <param name="configuration">Application configuration.</param>
    /// <returns>The provider.</returns>
    /// <exception cref="InvalidOperationException"><c>Storage:Provider</c> names no known provider.</exception>
    public static SegDatabaseProvider SelectProvider(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var named = configuration[ProviderKey];
        if (string.IsNullOrWhiteSpace(named))
        {
            return string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres"))
                && !string.IsNullOrWhiteSpace(configuration.GetConnectionString("Sqlite"))
                ? SegDatabaseProvider.Sqlite
                : SegDatabaseProvider.PostgreSql;
        }

        return named.Trim().ToLowerInvariant() switch
        {
            "postgres" or "postgresql" or "npgsql" => SegDatabaseProvider.PostgreSql,
            "sqlite" => SegDatabaseProvider.Sqlite,
            _ => throw new InvalidOperationException($"{ProviderKey} must be 'postgres' or 'sqlite' (got '{named}')"),
        };
    }

    private static void AddDatabase(IServiceCollection services, Action<DbContextOptionsBuilder> configure)
    {
        services.TryAddSingleton(TimeProvider.System);
        // Pooled: workers and the coordinator create a context per message, several per task.
        services.AddDbContextPool<SegDbContext>(configure);
        services.AddScoped<TaskBulkWriter>();
        services.AddScoped<TaskTransitions>();
        services.AddScoped<SweepTransitions>();
        services.AddScoped<DispatchClaims>();
        services.AddScoped<TaskDurationQueries>();
        services.AddScoped<WorkerActivityQueries>();
        services.AddScoped<ProvenanceWriter>();
        services.AddScoped<WorkerHeartbeatWriter>();
        services.AddScoped<SweepOutcomes>();
    }
}
