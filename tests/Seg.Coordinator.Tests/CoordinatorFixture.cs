using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Seg.Storage;

namespace Seg.Coordinator.Tests;

/// <summary>
/// The coordinator web app hosted in-process on real RabbitMQ and the database <typeparamref name="TDatabase"/>
/// (PostgreSQL or SQLite, created for the fixture and removed afterwards), with a render task queue of its own per test
/// class. Fails (never skips) when a service is missing. Subclasses choose the coordinator options; the scenario
/// classes (<c>Scenarios/</c>) run once per database.
/// </summary>
/// <typeparam name="TDatabase">The database the coordinator runs on.</typeparam>
public abstract class CoordinatorFixture<TDatabase> : CoordinatorTestHost, IAsyncLifetime
    where TDatabase : ITestDatabase, new()
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];
    private CoordinatorFactory? _factory;
    private RenderTaskQueue? _queue;

    /// <summary>The database of this fixture.</summary>
    public TDatabase Database { get; } = new();

    public HttpClient Client { get; private set; } = null!;

    public override IServiceProvider Services => _factory!.Services;

    public RenderTaskQueue Queue => _queue!;

    /// <summary>Whether <see cref="InitializeAsync"/> waits for <c>/readyz</c> to be Healthy (a fixture of a broken dependency does not).</summary>
    protected virtual bool WaitForReady => true;

    /// <summary>Coordinator settings of this fixture (keys as in appsettings.json).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        var database = await Database.CreateAsync(_suffix);
        _queue = await RenderTaskQueue.CreateAsync("render-tasks-test-" + _suffix);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Blobs"] = TestServices.Blobs,
            ["BlobStorage:ContainerName"] = "seg-coord-" + _suffix,
            ["Coordinator:RenderTaskQueue"] = _queue.Name,
            // Long: every test that waits for a message relies on the dispatcher being woken, not on polling.
            ["Coordinator:DispatchIntervalSeconds"] = "60",
            // Tests submit many sweeps with one key; SubmitRateLimitTests sets a small limit of its own.
            ["Auth:SubmitsPerMinute"] = "100000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "None",
        };
        foreach (var (key, value) in TestApiKeys.Settings())
        {
            settings[key] = value;
        }

        foreach (var (key, value) in database.Concat(Settings))
        {
            settings[key] = value;
        }

        _factory = new CoordinatorFactory(settings);
        Client = CreateClient(TestApiKeys.Admin);
        if (WaitForReady)
        {
            await WaitUntilReadyAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        if (_queue is not null)
        {
            await _queue.DisposeAsync();
        }

        await Database.DropAsync();
    }

    /// <summary>A client of the app that sends <paramref name="apiKey"/> as a bearer token (none when null).</summary>
    public HttpClient CreateClient(string? apiKey)
    {
        var client = _factory!.CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>POSTs a sweep with the given media type (and idempotency key).</summary>
    public Task<HttpResponseMessage> PostSweepAsync(string body, string mediaType = "application/yaml", string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/sweeps") { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return Client.SendAsync(request);
    }

    /// <summary>Submits a valid sweep and returns its id.</summary>
    public async Task<Guid> SubmitAsync(string yaml)
    {
        using var response = await PostSweepAsync(yaml);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"submit answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PostAsync(string path) => await Client.PostAsync(path, content: null);

    /// <summary>Waits until the sweep has <paramref name="status"/> in <c>GET /api/sweeps/{id}</c>; returns that answer.</summary>
    public async Task<JsonElement> WaitForSweepStatusAsync(Guid sweepId, string status)
    {
        JsonElement sweep = default;
        await EventuallyAsync(async () =>
        {
            sweep = await GetJsonAsync($"/api/sweeps/{sweepId}");
            return sweep.GetProperty("status").GetString() == status;
        }, $"sweep {sweepId} {status}");
        return sweep;
    }

    /// <summary>The bus is started and its consumer endpoints bound (events published now reach them), the database migrated.</summary>
    private async Task WaitUntilReadyAsync()
    {
        await EventuallyAsync(async () =>
        {
            using var response = await Client.GetAsync("/readyz");
            return response.IsSuccessStatusCode
                && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() == "Healthy";
        }, "/readyz Healthy", TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// The app with test settings. They go in as host configuration because Program reads configuration while it
    /// registers services, before the settings given to ConfigureAppConfiguration would apply (aspnetcore#37680).
    /// </summary>
    private sealed class CoordinatorFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        protected override IHost CreateHost(IHostBuilder builder)
        {
            builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(settings));
            return base.CreateHost(builder);
        }
    }
}

/// <summary>The coordinator on PostgreSQL, for the tests of what does not depend on the database (auth, hostile input, web pages).</summary>
public abstract class CoordinatorFixture : CoordinatorFixture<PostgresDatabase>;

/// <summary>Default options: room for everything in flight.</summary>
public sealed class DefaultCoordinatorFixture : CoordinatorFixture;

/// <summary>Default options on either database.</summary>
public sealed class DefaultFixture<TDatabase> : CoordinatorFixture<TDatabase>
    where TDatabase : ITestDatabase, new();

/// <summary>Plays a worker: moves task rows as the worker does and publishes its events on the app's bus.</summary>
public sealed class WorkerSimulator(IServiceProvider services)
{
    public async Task StartAsync(Guid taskId, string workerId)
    {
        await using var scope = services.CreateAsyncScope();
        var outcome = await scope.ServiceProvider.GetRequiredService<Storage.Tasks.TaskTransitions>()
            .TryStartAsync(taskId, workerId, takeOverRunning: false, CancellationToken.None);
        Assert.Equal(Storage.Tasks.TaskStartOutcome.Started, outcome);
    }

    /// <summary>Starts (unless started), marks succeeded, publishes <see cref="Contracts.Messages.RenderTaskSucceeded"/>.</summary>
    public async Task SucceedAsync(Contracts.Messages.RenderTask task, string workerId = "worker-sim", double gpuSeconds = 1.5, bool started = false)
    {
        if (!started)
        {
            await StartAsync(task.TaskId, workerId);
        }

        await using var scope = services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<Storage.Tasks.TaskTransitions>().TryMarkSucceededAsync(task.TaskId, gpuSeconds, CancellationToken.None));
        await services.GetRequiredService<IBus>().Publish(new Contracts.Messages.RenderTaskSucceeded(
            task.TaskId, task.SweepId, new Uri("http://127.0.0.1/blobs/" + task.TaskId), new string('a', 64), workerId, "cpu",
            new Dictionary<string, double> { ["denoise"] = gpuSeconds }, gpuSeconds));
    }

    /// <summary>Starts (unless started), marks failed, publishes <see cref="Contracts.Messages.RenderTaskFailed"/>.</summary>
    public async Task FailAsync(Contracts.Messages.RenderTask task, string workerId = "worker-sim", string reason = "model not found", bool permanent = true)
    {
        await StartAsync(task.TaskId, workerId);
        await using var scope = services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<Storage.Tasks.TaskTransitions>().TryMarkFailedAsync(task.TaskId, reason, 0.5, CancellationToken.None));
        await services.GetRequiredService<IBus>().Publish(new Contracts.Messages.RenderTaskFailed(
            task.TaskId, task.SweepId, reason, permanent, workerId, task.Attempt));
    }

    public async Task HeartbeatAsync(string workerId, int slots = 2, int busy = 1, params string[] models)
    {
        await services.GetRequiredService<IBus>().Publish(new Contracts.Messages.WorkerHeartbeat(
            workerId, workerId + "-host", [.. Enumerable.Range(0, slots).Select(i => "cuda:" + i.ToString(CultureInfo.InvariantCulture))],
            slots, busy, models, 42, 7.5, "0.1.0-test", DateTimeOffset.UtcNow));
    }
}
