using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Seg.Storage;

/// <summary>
/// Lets <c>dotnet ef</c> build the context without a host. Generating migrations needs no server;
/// <c>dotnet ef database update</c> uses <c>ConnectionStrings__Postgres</c> when set.
/// </summary>
public sealed class SegDbContextDesignTimeFactory : IDesignTimeDbContextFactory<SegDbContext>
{
    /// <summary>Connection string used when <c>ConnectionStrings__Postgres</c> is not set (the dev services).</summary>
    public const string DevelopmentConnectionString = "Host=127.0.0.1;Port=55432;Username=postgres;Database=seg";

    /// <inheritdoc />
    public SegDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = DevelopmentConnectionString;
        }

        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.Configure(builder, connectionString);
        return new SegDbContext(builder.Options);
    }
}
