using Azure;
using Azure.Storage.Blobs;

namespace Seg.Storage.Tests;

/// <summary>
/// A fresh container name per test class on the blob service (Azurite in development and CI); the
/// container is deleted afterwards. Fails (does not skip) when the service is not reachable.
/// </summary>
public sealed class AzuriteContainerFixture : IAsyncLifetime
{
    public string ContainerName { get; } = "seg-test-" + Guid.NewGuid().ToString("N")[..12];

    public BlobServiceClient Service { get; } = new(TestServices.Blobs, new BlobClientOptions
    {
        Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(10) },
    });

    public BlobContainerClient Container => Service.GetBlobContainerClient(ContainerName);

    public async Task InitializeAsync()
    {
        try
        {
            await Service.GetPropertiesAsync();
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException(
                $"The blob service is not reachable at {Service.Uri} (ConnectionStrings__Blobs). " +
                $"Start Azurite with infra/dev-services.sh (DESIGN.md section 6). Error: {e.Message}", e);
        }
    }

    public async Task DisposeAsync() => await Container.DeleteIfExistsAsync();
}
