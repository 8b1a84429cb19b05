using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Seg.Storage.Entities;
using Seg.Storage.Sqlite;

namespace Seg.Storage;

/// <summary>
/// The farm's database: sweeps, their tasks, image provenance and workers. PostgreSQL in the farm,
/// SQLite in the standalone mode; the model differs only where SQLite needs it (see <c>README.md</c>).
/// </summary>
/// <param name="options">Options built with <see cref="Configure"/> (Npgsql) or <see cref="ConfigureSqlite"/>.</param>
public sealed class SegDbContext(DbContextOptions<SegDbContext> options) : DbContext(options)
{
    /// <summary>How long a SQLite command waits for another connection's write lock before it fails.</summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(30);

    // Stateless, so one instance serves every context (and EF Core keeps one internal service provider).
    private static readonly SqliteBusyTimeoutInterceptor BusyTimeoutInterceptor = new(SqliteBusyTimeout);

    /// <summary>Sweeps.</summary>
    public DbSet<Sweep> Sweeps => Set<Sweep>();

    /// <summary>Render tasks, one per image.</summary>
    public DbSet<RenderTaskRecord> RenderTasks => Set<RenderTaskRecord>();

    /// <summary>Image provenance, one per finished task.</summary>
    public DbSet<ImageRecord> Images => Set<ImageRecord>();

    /// <summary>Workers seen through heartbeats.</summary>
    public DbSet<WorkerRecord> Workers => Set<WorkerRecord>();

    /// <summary>Per-sweep task counts, kept by triggers (<see cref="Sql.SweepCounterTriggers"/>).</summary>
    public DbSet<SweepCounters> SweepCounters => Set<SweepCounters>();

    /// <summary>The database this context talks to.</summary>
    public SegDatabaseProvider Provider => Database.IsSqlite() ? SegDatabaseProvider.Sqlite : SegDatabaseProvider.PostgreSql;

    /// <summary>
    /// Applies the options every PostgreSQL <see cref="SegDbContext"/> uses, at run time and design time
    /// alike: Npgsql with the given connection string and snake_case table and column names.
    /// </summary>
    /// <param name="builder">Options to configure.</param>
    /// <param name="connectionString">PostgreSQL connection string.</param>
    /// <param name="npgsql">Further Npgsql options (retries, timeouts), or null.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static DbContextOptionsBuilder Configure(
        DbContextOptionsBuilder builder,
        string connectionString,
        Action<NpgsqlDbContextOptionsBuilder>? npgsql = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("connection string must not be empty (ConnectionStrings:Postgres)", nameof(connectionString));
        }

        return builder
            .UseNpgsql(connectionString, o =>
            {
                o.MigrationsHistoryTable("__ef_migrations_history");
                o.ConfigureDataSource(dataSource => dataSource.ConfigureTracing(ConfigureTracing));
                npgsql?.Invoke(o);
            })
            .UseSnakeCaseNamingConvention();
    }

    /// <summary>
    /// Npgsql's spans (made only when tracing listens to its source): one per command that belongs to a trace. The
    /// background loops' polls (dispatch wake-ups, task-count samples, readiness) have none, and as root spans of
    /// their own, a few a second, they would bury the traces of tasks; the first-response event and the physical
    /// connection-open spans add nothing a task's trace needs.
    /// </summary>
    private static void ConfigureTracing(NpgsqlTracingOptionsBuilder tracing) => tracing
        .ConfigureCommandFilter(_ => Activity.Current is not null)
        .ConfigureBatchFilter(_ => Activity.Current is not null)
        .EnableFirstResponseEvent(false)
        .EnablePhysicalOpenTracing(false);

    /// <summary>
    /// Applies the options of a SQLite <see cref="SegDbContext"/> (standalone mode): Microsoft.Data.Sqlite
    /// with the given connection string, snake_case names, a busy timeout of <see cref="SqliteBusyTimeout"/>
    /// on every connection, so that a coordinator and a worker in one process wait for each other's writes
    /// instead of failing with "database is locked". Transactions begin with <c>BEGIN IMMEDIATE</c>
    /// (Microsoft.Data.Sqlite's default), taking the write lock at once: one that read first and wrote
    /// later could not wait for the lock once another connection had committed. Create the schema with
    /// <see cref="SegDatabaseInitializer.InitializeAsync"/> (it also turns on WAL).
    /// </summary>
    /// <param name="builder">Options to configure.</param>
    /// <param name="connectionString">SQLite connection string, e.g. <c>Data Source=/data/seg.db</c> (see <see cref="SqliteConnectionString"/>).</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static DbContextOptionsBuilder ConfigureSqlite(DbContextOptionsBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("connection string must not be empty (ConnectionStrings:Sqlite)", nameof(connectionString));
        }

        var parsed = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(parsed.DataSource))
        {
            throw new ArgumentException($"SQLite connection string must name a database file with Data Source (got '{connectionString}')", nameof(connectionString));
        }

        return builder
            .UseSqlite(connectionString)
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(BusyTimeoutInterceptor);
    }

    /// <summary>
    /// The SQLite connection string for a database file: pooled connections, and Microsoft.Data.Sqlite's
    /// own retry on a busy database (<c>Default Timeout</c>) set to <see cref="SqliteBusyTimeout"/>.
    /// </summary>
    /// <param name="databasePath">Path of the database file; created by <see cref="SegDatabaseInitializer"/> when missing.</param>
    /// <returns>The connection string.</returns>
    public static string SqliteConnectionString(string databasePath)
    {
        if (string.IsNullOrWhiteSpace(databasePath))
        {
            throw new ArgumentException("SQLite database path must not be empty", nameof(databasePath));
        }

        return new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(databasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)SqliteBusyTimeout.TotalSeconds,
        }.ToString();
    }

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        if (Database.IsSqlite())
        {
            SqliteModel.ConfigureConventions(configurationBuilder);
        }
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SegDbContext).Assembly);
        if (Database.IsSqlite())
        {
            SqliteModel.Adapt(modelBuilder);
        }
    }
}
