using Microsoft.EntityFrameworkCore;

namespace Seg.Storage.Tests;

/// <summary>
/// A fresh database <c>seg_test_&lt;random&gt;</c> per test class, migrated with the real migrations (by
/// <see cref="SegDatabaseInitializer"/>, as the coordinator does) and dropped afterwards. Fails (does not skip) when PostgreSQL is not reachable.
/// </summary>
public sealed class PostgresDatabaseFixture : ITestDatabase, IAsyncLifetime
{
    public SegDatabaseProvider Provider => SegDatabaseProvider.PostgreSql;

    private readonly PostgresTestDatabase _database = PostgresTestDatabase.WithUniqueName("seg_test_");

    public string DatabaseName => _database.Name;

    public string ConnectionString => _database.ConnectionString;

    /// <summary>Set false by fixtures that want an empty database (the migration tests).</summary>
    public bool Migrate { get; init; } = true;

    public SegDbContext CreateContext()
    {
        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.Configure(builder, ConnectionString);
        return new SegDbContext(builder.Options);
    }

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();

        if (Migrate)
        {
            await using var db = CreateContext();
            await SegDatabaseInitializer.InitializeAsync(db, CancellationToken.None);
        }
    }

    public Task DisposeAsync() => _database.DropAsync();

}

/// <summary>The same, but the database is left empty so a test can apply the migrations itself.</summary>
public sealed class EmptyPostgresDatabaseFixture : IAsyncLifetime
{
    public PostgresDatabaseFixture Database { get; } = new() { Migrate = false };

    public Task InitializeAsync() => Database.InitializeAsync();

    public Task DisposeAsync() => Database.DisposeAsync();
}
