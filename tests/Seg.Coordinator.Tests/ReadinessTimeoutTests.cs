using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage.Health;

namespace Seg.Coordinator.Tests;

/// <summary>
/// A coordinator whose blob store accepts connections but never answers: a listening socket that nobody reads (the
/// kernel completes the TCP handshake), the endpoint of the blob connection string.
/// </summary>
public sealed class HangingBlobStoreFixture : CoordinatorFixture
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public HangingBlobStoreFixture() => _listener.Start();

    protected override bool WaitForReady => false;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ConnectionStrings:Blobs"] = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/devstoreaccount1;",
        ["Health:ReadyCheckTimeoutSeconds"] = "1",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _listener.Dispose();
    }
}

/// <summary>
/// Each readiness check is bounded in time (<c>Health:ReadyCheckTimeoutSeconds</c>): a dependency that hangs makes
/// <c>/readyz</c> answer 503 naming it, promptly, instead of keeping the probe waiting (the blob client alone would wait
/// 100 s per try).
/// </summary>
public sealed class ReadinessTimeoutTests(HangingBlobStoreFixture app) : IClassFixture<HangingBlobStoreFixture>
{
    [Fact]
    public async Task A_blob_store_that_never_answers_makes_readyz_answer_503_naming_it()
    {
        using var probe = app.CreateClient(apiKey: null);
        probe.Timeout = TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        using var response = await probe.GetAsync("/readyz");
        var elapsed = clock.Elapsed;
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var checks = JsonDocument.Parse(text).RootElement.GetProperty("checks");
        var blobStore = checks.GetProperty(StorageHealthChecks.BlobStore);
        Assert.Equal("Unhealthy", blobStore.GetProperty("status").GetString());
        Assert.Contains("timeout", blobStore.GetProperty("description").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("Healthy", checks.GetProperty(StorageHealthChecks.Database).GetProperty("status").GetString());
        // A bound far above the 1 s timeout (a loaded machine), far below what a hanging request would take.
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"/readyz took {elapsed.TotalSeconds:F1} s: {text}");
    }

    [Fact]
    public void Every_readiness_check_the_broker_s_included_carries_the_configured_timeout()
    {
        var registrations = app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Where(r => r.Tags.Contains(HealthOptions.ReadyTag)).ToList();

        Assert.Equal([StorageHealthChecks.BlobStore, ServiceDefaultsExtensions.BrokerCheck, StorageHealthChecks.Database],
            registrations.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(registrations, r => Assert.Equal(TimeSpan.FromSeconds(1), r.Timeout));
    }
}
