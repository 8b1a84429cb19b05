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
}
