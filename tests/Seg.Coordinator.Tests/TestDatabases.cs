using Microsoft.Data.Sqlite;
using Seg.Storage;

namespace Seg.Coordinator.Tests;

/// <summary>
/// The database a <see cref="CoordinatorFixture{TDatabase}"/> runs the coordinator on: created before the app starts,
/// removed after it stops. The one thing the two kinds of fixture differ in.
/// </summary>
public interface ITestDatabase
{
    /// <summary>Which provider the coordinator uses.</summary>
    SegDatabaseProvider Provider { get; }

    /// <summary>Folder of the images when they are kept as files beside the database; null when they go to the blob store.</summary>
    string? ImagesFolder { get; }

    /// <summary>Creates the database, empty; returns the coordinator settings that point at it (keys as in appsettings.json).</summary>
    /// <param name="suffix">Random letters and digits that make the database's name unique.</param>
    Task<IReadOnlyDictionary<string, string?>> CreateAsync(string suffix);

    /// <summary>Removes the database (the app has stopped).</summary>
    Task DropAsync();
}

/// <summary>A fresh PostgreSQL database <c>seg_coord_&lt;suffix&gt;</c> on the test server; images in the blob store (Azurite).</summary>
public sealed class PostgresDatabase : ITestDatabase
{
    private PostgresTestDatabase? _database;

    /// <inheritdoc />
    public SegDatabaseProvider Provider => SegDatabaseProvider.PostgreSql;

    /// <inheritdoc />
    public string? ImagesFolder => null;

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, string?>> CreateAsync(string suffix)
    {
        _database = new PostgresTestDatabase("seg_coord_" + suffix);
        await _database.CreateAsync();
        return new Dictionary<string, string?> { [StorageServiceExtensions.PostgresConnectionStringKey] = _database.ConnectionString };
    }

    /// <inheritdoc />
    public Task DropAsync() => _database?.DropAsync() ?? Task.CompletedTask;
}

/// <summary>
/// A SQLite file in a temp folder of its own (<c>Storage:Provider</c> sqlite), with the images as files beside it, as
/// the standalone mode and <c>seg serve</c> keep them.
/// </summary>
public sealed class SqliteDatabase : ITestDatabase
{
    private string? _folder;

    /// <inheritdoc />
    public SegDatabaseProvider Provider => SegDatabaseProvider.Sqlite;

    /// <inheritdoc />
    public string? ImagesFolder => _folder is null ? null : Path.Combine(_folder, "images");

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, string?>> CreateAsync(string suffix)
    {
        _folder = Path.Combine(Path.GetTempPath(), "seg-coord-sqlite-" + suffix);
        Directory.CreateDirectory(_folder);
        IReadOnlyDictionary<string, string?> settings = new Dictionary<string, string?>
        {
            [StorageServiceExtensions.ProviderKey] = "sqlite",
            [StorageServiceExtensions.SqliteConnectionStringKey] = SegDbContext.SqliteConnectionString(Path.Combine(_folder, "seg.db")),
            ["BlobStorage:LocalFolder"] = ImagesFolder,
        };
        return Task.FromResult(settings);
    }

    /// <inheritdoc />
    public Task DropAsync()
    {
        // Pooled connections keep the file open.
        SqliteConnection.ClearAllPools();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}
