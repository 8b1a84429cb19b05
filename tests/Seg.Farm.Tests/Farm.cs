using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Npgsql;

namespace Seg.Farm.Tests;

/// <summary>
/// One farm for one test: a fresh database and blob container, a coordinator process and worker processes on
/// the real RabbitMQ, PostgreSQL and Azurite. Disposing stops the processes and drops the database.
/// </summary>
public sealed class Farm : IAsyncDisposable
{
    /// <summary>Shared by every farm test, so the tiny model is written once per run.</summary>
    private static readonly string CacheFolder = Path.Combine(Path.GetTempPath(), "seg-farm-tests-cache");

    private readonly PostgresTestDatabase _database = PostgresTestDatabase.WithUniqueName("seg_farm_");
    private readonly List<FarmProcess> _workers = [];
    private FarmProcess? _coordinator;
    private readonly List<FarmProcess> _moreCoordinators = [];

    private Farm()
    {
    }

    public string Database { get; private set; } = "";

    public string Container { get; } = $"seg-farm-{Guid.NewGuid():N}";

    public HttpClient Http { get; } = new()
    {
        Timeout = TimeSpan.FromSeconds(60),
        DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestApiKeys.Admin) },
    };

    public IReadOnlyList<FarmProcess> Workers => _workers;

    /// <summary>The base addresses of the coordinators after the first (<see cref="Http"/>'s).</summary>
    public List<Uri> CoordinatorUrls { get; } = [];

    /// <summary>The coordinator processes, the first (<see cref="Http"/>'s) first.</summary>
    public IEnumerable<FarmProcess> Coordinators => (_coordinator is null ? [] : new[] { _coordinator }).Concat(_moreCoordinators);

    /// <summary>
    /// Starts <paramref name="coordinators"/> coordinator processes (replicas on the one database and broker; <see cref="Http"/>
    /// talks to the first) and <paramref name="workers"/> worker processes, and waits until all are ready.
    /// </summary>
    /// <param name="workers">Worker processes.</param>
    /// <param name="maxInFlight">The coordinator's in-flight bound.</param>
    /// <param name="workerSettings">Settings for the workers only.</param>
    /// <param name="coordinators">Coordinator processes (replicas).</param>
    /// <param name="coordinatorSettings">Settings for the coordinators only.</param>
    /// <param name="settings">Settings for every process (telemetry, say).</param>
    public static async Task<Farm> StartAsync(int workers, int maxInFlight = 32, IReadOnlyDictionary<string, string>? workerSettings = null,
        int coordinators = 1, IReadOnlyDictionary<string, string>? coordinatorSettings = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var farm = new Farm { _settings = settings ?? new Dictionary<string, string>() };
        try
        {
            await farm._database.CreateAsync();
            farm.Database = farm._database.ConnectionString;
            var port = FreePort();
            farm.Http.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
            var coordinatorEnvironment = new Dictionary<string, string>(farm.Common())
            {
                ["ASPNETCORE_URLS"] = farm.Http.BaseAddress.ToString(),
                ["Coordinator__MaxInFlight"] = maxInFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Heartbeat__IntervalSeconds"] = "1",
            };
            foreach (var (key, value) in TestApiKeys.Settings("__").Concat(coordinatorSettings ?? new Dictionary<string, string>()))
            {
                coordinatorEnvironment[key] = value;
            }

            farm._coordinatorEnvironment = coordinatorEnvironment;
            farm._coordinator = FarmProcess.Start("coordinator", "Seg.Coordinator", coordinatorEnvironment);
            for (var i = 1; i < coordinators; i++)
            {
                var replica = new Uri($"http://127.0.0.1:{FreePort()}/");
                farm._moreCoordinators.Add(FarmProcess.Start($"coordinator-{i + 1}", "Seg.Coordinator",
                    new Dictionary<string, string>(coordinatorEnvironment) { ["ASPNETCORE_URLS"] = replica.ToString() }));
                farm.CoordinatorUrls.Add(replica);
            }

            foreach (var url in farm.CoordinatorUrls.Prepend(farm.Http.BaseAddress))
            {
                await farm.WaitUntilAsync(async () => (await farm.TryGetAsync(new Uri(url, "readyz").ToString())) == HttpStatusCode.OK, TimeSpan.FromSeconds(90), $"the coordinator at {url} to be ready");
            }
            for (var i = 0; i < workers; i++)
            {
                farm.StartWorker($"worker-{i + 1}", workerSettings);
            }
            await farm.WaitUntilAsync(async () => (await farm.HealthyWorkersAsync()) >= workers, TimeSpan.FromSeconds(90), $"{workers} workers to send heartbeats");
            return farm;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILLs the (first) coordinator and starts it again with the same settings; waits until it is ready.</summary>
    public async Task KillAndRestartCoordinatorAsync()
    {
        var old = _coordinator!;
        Kill(old);
        _moreCoordinators.Add(old); // kept for its log; it is dead
        _coordinator = FarmProcess.Start($"coordinator-restarted-{_killed.Count}", "Seg.Coordinator", _coordinatorEnvironment);
        await WaitUntilAsync(async () => (await TryGetAsync("readyz")) == HttpStatusCode.OK, TimeSpan.FromSeconds(90), "the restarted coordinator to be ready");
    }

    /// <summary>Starts one more worker process.</summary>
    public FarmProcess StartWorker(string workerId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort()}/");
        WorkerUrls.Add(url);
        var environment = new Dictionary<string, string>(Common())
        {
            ["Worker__WorkerId"] = workerId,
            // Its own port for the probes: several workers run on this machine.
            ["ASPNETCORE_URLS"] = url.ToString(),
            ["Worker__Devices__0"] = "cpu",
            ["Worker__CpuSlots"] = "1",
            ["Worker__ModelRoot"] = Path.Combine(CacheFolder, "models"),
            ["Worker__CacheFolder"] = CacheFolder,
            ["Heartbeat__IntervalSeconds"] = "1",
            ["Worker__DrainTimeoutSeconds"] = "30",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        var worker = FarmProcess.Start(workerId, "Seg.Worker", environment);
        _workers.Add(worker);
        return worker;
    }

    private IReadOnlyDictionary<string, string> _settings = new Dictionary<string, string>();

    /// <summary>Base address of each worker's HTTP listener (probes and metrics), in start order.</summary>
    public List<Uri> WorkerUrls { get; } = [];

    private Dictionary<string, string> Common()
    {
        var common = CommonBase();
        foreach (var (key, value) in _settings)
        {
            common[key] = value;
        }

        return common;
    }

    private Dictionary<string, string> CommonBase() => new()
    {
        ["ConnectionStrings__Postgres"] = Database,
        ["ConnectionStrings__Blobs"] = TestServices.Blobs,
        ["BlobStorage__ContainerName"] = Container,
        ["RabbitMq__Host"] = TestServices.RabbitHost,
        ["RabbitMq__Port"] = TestServices.RabbitPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DOTNET_ENVIRONMENT"] = "Production",
        ["Logging__LogLevel__Default"] = "Information",
    };

    /// <summary>Submits a YAML sweep and returns its id.</summary>
    public async Task<Guid> SubmitAsync(string yaml, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/sweeps") { Content = new StringContent(yaml, Encoding.UTF8, "application/yaml") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"submit answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>The sweep as the API shows it.</summary>
    public async Task<JsonElement> GetSweepAsync(Guid id) => await Http.GetFromJsonAsync<JsonElement>($"api/sweeps/{id}");

    public async Task<int> HealthyWorkersAsync()
    {
        try
        {
            var workers = await Http.GetFromJsonAsync<JsonElement>("api/workers");
            var list = workers.ValueKind == JsonValueKind.Array ? workers : workers.GetProperty("items");
            return list.EnumerateArray().Count(w => w.GetProperty("health").GetString() == "healthy");
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    /// <summary>Waits until the sweep reaches a final status, recording every progress value seen on the way.</summary>
    public async Task<(string Status, List<double> Progress)> WaitForSweepAsync(Guid id, TimeSpan timeout)
    {
        var progress = new List<double>();
        var status = "";
        await WaitUntilAsync(async () =>
        {
            var sweep = await GetSweepAsync(id);
            status = sweep.GetProperty("status").GetString()!;
            progress.Add(sweep.GetProperty("progress").GetDouble());
            return status is "succeeded" or "failed" or "cancelled";
        }, timeout, $"sweep {id} to finish");
        return (status, progress);
    }

    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }
            var dead = _workers.Concat(Coordinators).FirstOrDefault(p => p.HasExited && !_killed.Contains(p));
            if (dead is not null)
            {
                throw new Xunit.Sdk.XunitException($"{dead.Name} exited while waiting for {what}:\n{Tail(dead.Log)}");
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"timed out after {timeout} waiting for {what}.\n{Logs()}");
    }

    private readonly HashSet<FarmProcess> _killed = [];
    private Dictionary<string, string> _coordinatorEnvironment = [];

    /// <summary>SIGKILLs a worker (the test expects it to die).</summary>
    public void Kill(FarmProcess worker)
    {
        _killed.Add(worker);
        worker.Kill();
    }

    /// <summary>Runs a query on the farm's database and returns the first column of each row.</summary>
    public async Task<List<T>> QueryAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetFieldValue<T>(0));
        }
        return rows;
    }

    /// <summary>The blobs in the farm's container.</summary>
    public async Task<List<string>> BlobNamesAsync()
    {
        var container = new BlobContainerClient(TestServices.Blobs, Container);
        var names = new List<string>();
        if (!await container.ExistsAsync())
        {
            return names;
        }
        await foreach (var blob in container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }
        return names;
    }

    public string Logs() => string.Join("\n", _workers.Concat(Coordinators)
        .Select(p => $"--- {p.Name} ---\n{Tail(p.Log)}"));

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;

    private async Task<HttpStatusCode?> TryGetAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }
        foreach (var coordinator in Coordinators)
        {
            coordinator.Dispose();
        }
        Http.Dispose();
        try
        {
            await new BlobContainerClient(TestServices.Blobs, Container).DeleteIfExistsAsync();
        }
        catch (Azure.RequestFailedException)
        {
        }
        if (Database.Length > 0)
        {
            await _database.DropAsync();
        }
    }
}
