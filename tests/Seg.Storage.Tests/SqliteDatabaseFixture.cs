using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Seg.Storage.Tests;

/// <summary>
/// A fresh SQLite file in a temp folder per test class, its schema created by
/// <see cref="SegDatabaseInitializer"/> (as the standalone mode does), deleted afterwards.
/// </summary>
public sealed class SqliteDatabaseFixture : ITestDatabase, IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "seg-sqlite-test-" + Guid.NewGuid().ToString("N")[..12]);

    public string DatabasePath => Path.Combine(Folder, "seg.db");

    public string ConnectionString => SegDbContext.SqliteConnectionString(DatabasePath);

    public SegDatabaseProvider Provider => SegDatabaseProvider.Sqlite;

    public SegDbContext CreateContext()
    {
        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.ConfigureSqlite(builder, ConnectionString);
        return new SegDbContext(builder.Options);
    }

    public async Task InitializeAsync()
    {
        await using var db = CreateContext();
        await SegDatabaseInitializer.InitializeAsync(db, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        // Pooled connections keep the file open.
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}
