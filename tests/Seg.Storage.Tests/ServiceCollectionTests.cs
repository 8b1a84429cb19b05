using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Seg.Storage.Blobs;
using Seg.Storage.Provenance;
using Seg.Storage.Tasks;

namespace Seg.Storage.Tests;

public sealed class ServiceCollectionTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task AddSegStorage_registers_a_working_context_writers_and_the_azure_store()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["ConnectionStrings:Blobs"] = TestServices.Blobs,
            ["BlobStorage:ContainerName"] = "seg-farm-images",
        }).Build();
        await using var provider = new ServiceCollection().AddSegStorage(configuration).BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();

        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        Assert.Equal(0, await db.Sweeps.CountAsync());
        Assert.Equal("render_tasks", db.Model.FindEntityType(typeof(Entities.RenderTaskRecord))!.GetTableName());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<TaskBulkWriter>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<TaskTransitions>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<SweepTransitions>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<ProvenanceWriter>());
        var options = provider.GetRequiredService<BlobStorageOptions>();
        Assert.Equal(TestServices.Blobs, options.ConnectionString);
        Assert.Equal("seg-farm-images", options.ContainerName);
        var store = Assert.IsType<AzureImageBlobStore>(provider.GetRequiredService<IImageBlobStore>());
        Assert.EndsWith("/seg-farm-images", store.ContainerUri.AbsolutePath);
    }

    [Fact]
    public void A_local_folder_selects_the_local_store()
    {
        var folder = Path.Combine(Path.GetTempPath(), "seg-local-" + Guid.NewGuid().ToString("N"));
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Postgres"] = database.ConnectionString,
                ["BlobStorage:LocalFolder"] = folder,
            }).Build();
            using var provider = new ServiceCollection().AddSegStorage(configuration).BuildServiceProvider();

            var store = Assert.IsType<LocalFolderImageBlobStore>(provider.GetRequiredService<IImageBlobStore>());
            Assert.Equal(folder, store.RootFolder);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, true);
            }
        }
    }

    [Fact]
    public void A_missing_postgres_connection_string_is_named()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new ServiceCollection().AddSegStorage(new ConfigurationBuilder().Build()));
        Assert.Contains("ConnectionStrings:Postgres must be set", error.Message);
    }

    [Theory]
    [InlineData(null, "Host=h", null, SegDatabaseProvider.PostgreSql)]
    [InlineData(null, null, "Data Source=x.db", SegDatabaseProvider.Sqlite)]
    [InlineData(null, "Host=h", "Data Source=x.db", SegDatabaseProvider.PostgreSql)]
    [InlineData("sqlite", "Host=h", "Data Source=x.db", SegDatabaseProvider.Sqlite)]
    [InlineData("SQLite", null, null, SegDatabaseProvider.Sqlite)]
    [InlineData("postgres", null, "Data Source=x.db", SegDatabaseProvider.PostgreSql)]
    [InlineData("PostgreSQL", null, null, SegDatabaseProvider.PostgreSql)]
    [InlineData(null, null, null, SegDatabaseProvider.PostgreSql)]
    public void The_provider_is_named_or_follows_the_only_connection_string(string? provider, string? postgres, string? sqlite, SegDatabaseProvider expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = provider,
            ["ConnectionStrings:Postgres"] = postgres,
            ["ConnectionStrings:Sqlite"] = sqlite,
        }).Build();

        Assert.Equal(expected, StorageServiceExtensions.SelectProvider(configuration));
    }

    [Fact]
    public void An_unknown_provider_or_a_missing_sqlite_connection_string_is_named()
    {
        var unknown = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "mysql" }).Build();
        Assert.Contains("Storage:Provider must be 'postgres' or 'sqlite' (got 'mysql')",
            Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddSegStorage(unknown)).Message);

        var noFile = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "sqlite" }).Build();
        Assert.Contains("ConnectionStrings:Sqlite must be set when Storage:Provider is sqlite",
            Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddSegStorage(noFile)).Message);
    }

    [Fact]
    public async Task ConnectionStrings_Sqlite_selects_a_working_sqlite_context()
    {
        var folder = Path.Combine(Path.GetTempPath(), "seg-sqlite-di-" + Guid.NewGuid().ToString("N"));
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Sqlite"] = $"Data Source={Path.Combine(folder, "seg.db")}",
                ["BlobStorage:LocalFolder"] = Path.Combine(folder, "images"),
            }).Build();
            await using var provider = new ServiceCollection().AddSegStorage(configuration).BuildServiceProvider();
            await using var scope = provider.CreateAsyncScope();

            var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
            Assert.Equal(SegDatabaseProvider.Sqlite, db.Provider);
            await SegDatabaseInitializer.InitializeAsync(db, CancellationToken.None);
            var result = await scope.ServiceProvider.GetRequiredService<TaskBulkWriter>()
                .InsertSweepAsync(TestData.NewSweep(), TestData.NewTasks(3), CancellationToken.None);
            Assert.Equal(3, await db.RenderTasks.CountAsync(t => t.SweepId == result.SweepId));
            Assert.IsType<LocalFolderImageBlobStore>(provider.GetRequiredService<IImageBlobStore>());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, true);
            }
        }
    }

    [Fact]
    public async Task AddSegStorageSqlite_registers_the_standalone_storage()
    {
        var folder = Path.Combine(Path.GetTempPath(), "seg-standalone-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var provider = new ServiceCollection()
                .AddSegStorageSqlite(Path.Combine(folder, "db", "seg.db"), Path.Combine(folder, "images"))
                .BuildServiceProvider();
            await using var scope = provider.CreateAsyncScope();

            var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
            Assert.Equal(SegDatabaseProvider.Sqlite, db.Provider);
            await SegDatabaseInitializer.InitializeAsync(db, CancellationToken.None);
            Assert.True(File.Exists(Path.Combine(folder, "db", "seg.db")));

            var sweep = TestData.NewSweep();
            var task = TestData.NewTasks(1).Single();
            await scope.ServiceProvider.GetRequiredService<TaskBulkWriter>().InsertSweepAsync(sweep, [task], CancellationToken.None);
            Assert.Equal(TaskStartOutcome.Started, await scope.ServiceProvider.GetRequiredService<TaskTransitions>().TryStartAsync(task.Id, "local", false, CancellationToken.None));
            Assert.True(await scope.ServiceProvider.GetRequiredService<ProvenanceWriter>().TryInsertAsync(TestData.NewImage(sweep.Id, task.Id), CancellationToken.None));
            await scope.ServiceProvider.GetRequiredService<Workers.WorkerHeartbeatWriter>().UpsertAsync(new Entities.WorkerRecord { WorkerId = "local" }, CancellationToken.None);
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<SweepTransitions>().RequeueFailedAsync(sweep.Id, CancellationToken.None));

            var store = Assert.IsType<LocalFolderImageBlobStore>(provider.GetRequiredService<IImageBlobStore>());
            Assert.Equal(Path.Combine(folder, "images"), store.RootFolder);
            Assert.Equal(Path.Combine(folder, "images"), provider.GetRequiredService<BlobStorageOptions>().LocalFolder);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, true);
            }
        }
    }

    [Fact]
    public void AddSegStorageSqlite_refuses_empty_paths_by_name()
    {
        Assert.Contains("SQLite database path must not be empty",
            Assert.Throws<ArgumentException>(() => new ServiceCollection().AddSegStorageSqlite(" ", "images")).Message);
        Assert.Contains("images folder must not be empty",
            Assert.Throws<ArgumentException>(() => new ServiceCollection().AddSegStorageSqlite("seg.db", "")).Message);
    }
}
