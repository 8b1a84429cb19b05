using Microsoft.EntityFrameworkCore;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Seg.Storage.Entities;

namespace Seg.Storage;

/// <summary>The farm's PostgreSQL database: sweeps, their tasks, image provenance and workers.</summary>
/// <param name="options">Options built with <see cref="Configure"/> (Npgsql, snake_case names).</param>
public sealed class SegDbContext(DbContextOptions<SegDbContext> options) : DbContext(options)
{
    /// <summary>Sweeps.</summary>
    public DbSet<Sweep> Sweeps => Set<Sweep>();

    /// <summary>Render tasks, one per image.</summary>
    public DbSet<RenderTaskRecord> RenderTasks => Set<RenderTaskRecord>();

    /// <summary>Image provenance, one per finished task.</summary>
    public DbSet<ImageRecord> Images => Set<ImageRecord>();

    /// <summary>Workers seen through heartbeats.</summary>
    public DbSet<WorkerRecord> Workers => Set<WorkerRecord>();

    /// <summary>
    /// Applies the options every <see cref="SegDbContext"/> uses, at run time and design time alike:
    /// Npgsql with the given connection string and snake_case table and column names.
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
                npgsql?.Invoke(o);
            })
            .UseSnakeCaseNamingConvention();
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SegDbContext).Assembly);
    }
}
