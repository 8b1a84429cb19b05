using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.EntityFrameworkCore;
using Seg.Storage;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>
/// Per test class: a fresh database <c>seg_worker_&lt;random&gt;</c> migrated with the Storage migrations, a fresh blob
/// container, a cache folder for the tiny model and patched UNets, an empty model root and a queue name of its own.
/// Everything is removed afterwards. Fails (never skips) when PostgreSQL or the blob service is not reachable.
/// </summary>
public sealed class WorkerTestEnvironment : IAsyncLifetime
{
    private readonly string _id;
    private readonly PostgresTestDatabase _database;

    public WorkerTestEnvironment()
    {
        _id = Guid.NewGuid().ToString("N")[..12];
        _database = new PostgresTestDatabase($"seg_worker_{_id}");
    }

    public string DatabaseName => _database.Name;

    public string ConnectionString => _database.ConnectionString;

    public string ContainerName => $"seg-worker-{_id}";

    public string QueueName => $"render-tasks-test-{_id}";

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"seg-worker-tests-{Guid.NewGuid():N}");

    public string CacheFolder => Path.Combine(Root, "cache");

    public string ModelRoot => Path.Combine(Root, "models");

    public BlobContainerClient Container { get; private set; } = null!;

    public SegDbContext CreateContext()
    {
        var builder = new DbContextOptionsBuilder<SegDbContext>();
        SegDbContext.Configure(builder, ConnectionString);
        return new SegDbContext(builder.Options);
    }

    /// <summary>The configuration every worker of this class starts from; tests add or override keys.</summary>
    public Dictionary<string, string?> Settings(string workerId = "test-worker") => new()
    {
        ["ConnectionStrings:Postgres"] = ConnectionString,
        ["BlobStorage:ConnectionString"] = TestServices.Blobs,
        ["BlobStorage:ContainerName"] = ContainerName,
        ["RabbitMq:Host"] = TestServices.RabbitHost,
        ["RabbitMq:Port"] = TestServices.RabbitPort.ToString(CultureInfo.InvariantCulture),
        ["Worker:WorkerId"] = workerId,
        ["Worker:Devices:0"] = "cpu",
        ["Worker:ModelRoot"] = ModelRoot,
        ["Worker:CacheFolder"] = CacheFolder,
        ["Worker:QueueName"] = QueueName,
        ["Heartbeat:IntervalSeconds"] = "60",
        ["Worker:Retry:MinIntervalSeconds"] = "0.02",
        ["Worker:Retry:MaxIntervalSeconds"] = "0.1",
    };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ModelRoot);
        await _database.CreateAsync();

        await using (var db = CreateContext())
        {
            await db.Database.MigrateAsync();
        }

        var service = new BlobServiceClient(TestServices.Blobs, new BlobClientOptions { Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(10) } });
        try
        {
            await service.GetPropertiesAsync();
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException(
                $"The blob service is not reachable at {service.Uri} (ConnectionStrings__Blobs). Start Azurite with infra/dev-services.sh. Error: {e.Message}", e);
        }

        Container = service.GetBlobContainerClient(ContainerName);
    }

    public async Task DisposeAsync()
    {
        await _database.DropAsync();

        await Container.DeleteIfExistsAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

}
