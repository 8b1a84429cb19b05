using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Npgsql;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>How one program of a deployment runs here: its image, its environment (already mapped), its HTTP port here.</summary>
public sealed record DeployedProgram(ImageTarget Image, IReadOnlyDictionary<string, string> Environment, int Port);

/// <summary>
/// A coordinator and a worker started from a deployment's settings (<see cref="DeployedProgram"/>), on the test's
/// PostgreSQL (a fresh database), RabbitMQ and Azurite, with the means to probe them and run a sweep. Disposing stops
/// both and drops the database and the blob container.
/// </summary>
public sealed class DeployedFarm : IAsyncDisposable
{
    private readonly List<DeployedProcess> _processes = [];
    private readonly string _home = Directory.CreateTempSubdirectory("seg-deploy-home-").FullName;

    private DeployedFarm(PostgresTestDatabase database, string name)
    {
        Database = database;
        // Its own queue and container: a farm's messages and images stay apart from every other test's.
        RenderQueue = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 13)];
        BlobContainer = RenderQueue;
    }

    public PostgresTestDatabase Database { get; }

    /// <summary>The render queue this farm's deployment should name.</summary>
    public string RenderQueue { get; }

    /// <summary>The blob container this farm's deployment should name.</summary>
    public string BlobContainer { get; }

    /// <summary>An empty folder standing for the models volume.</summary>
    public string ModelsFolder { get; } = Directory.CreateTempSubdirectory("seg-deploy-models-").FullName;

    public DeployedProcess Coordinator => _processes[0];

    public DeployedProcess Worker => _processes[1];

    /// <summary>A fresh database, queue and container for a deployment to point at (the database created here; all removed on dispose).</summary>
    public static async Task<DeployedFarm> CreateAsync(string name)
    {
        var database = PostgresTestDatabase.WithUniqueName("seg_deploy_");
        await database.CreateAsync();
        return new DeployedFarm(database, name);
    }

    /// <summary>A free TCP port on loopback, for a program's HTTP listener.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a program and waits until GET <paramref name="livenessPath"/> on its port answers 200.</summary>
    public async Task<DeployedProcess> StartAsync(string name, DeployedProgram program, string livenessPath)
    {
        var process = DeployedProcess.Start(name, program.Image, program.Environment, _home);
        _processes.Add(process);
        await WaitForAsync(program, livenessPath, TimeSpan.FromSeconds(120));
        return process;
    }

    /// <summary>Waits until GET <paramref name="path"/> on the program's port answers 200.</summary>
    public async Task WaitForAsync(DeployedProgram program, string path, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            var dead = _processes.FirstOrDefault(p => p.HasExited);
            if (dead is not null)
            {
                throw new Xunit.Sdk.XunitException($"{dead.Name} exited while waiting for {path} on port {program.Port}:\n{Logs()}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{program.Port}{path}"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"GET {path} on port {program.Port} did not answer 200 within {timeout} (last: {last}):\n{Logs()}");
    }

    /// <summary>Runs a health check command of the image (its HEALTHCHECK by default) with the program's environment.</summary>
    public static async Task<ToolResult> HealthCheckAsync(DeployedProgram program, IReadOnlyList<string>? command = null)
    {
        var mapped = program.Image.Map(command ?? program.Image.Stage.HealthCheck);
        Assert.NotEmpty(mapped);
        return await ToolRun.RunAsync(mapped[0], mapped.Skip(1), workingDirectory: program.Image.AppFolder,
            environment: program.Environment.ToDictionary(p => p.Key, p => (string?)p.Value), inheritEnvironment: false, timeout: TimeSpan.FromSeconds(30));
    }

    /// <summary>Submits a sweep with <paramref name="apiKey"/> and waits until it ends; its final status.</summary>
    public async Task<string> RunSweepAsync(DeployedProgram coordinator, string apiKey, string yaml, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{coordinator.Port}/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var submit = await http.PostAsync(new Uri("api/sweeps", UriKind.Relative), new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        var body = await submit.Content.ReadAsStringAsync();
        Assert.True(submit.IsSuccessStatusCode, $"submit answered {(int)submit.StatusCode}: {body}");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var sweep = JsonDocument.Parse(await http.GetStringAsync(new Uri($"api/sweeps/{id}", UriKind.Relative))).RootElement;
            var status = sweep.GetProperty("status").GetString()!;
            if (status is "succeeded" or "failed" or "cancelled")
            {
                return status;
            }
            if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
            {
                throw new Xunit.Sdk.XunitException($"{dead.Name} exited during the sweep:\n{Logs()}");
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"sweep {id} did not end within {timeout}:\n{Logs()}");
    }

    /// <summary>The blobs of the farm's container on the test's Azurite.</summary>
    public async Task<List<string>> BlobsAsync()
    {
        var client = new BlobContainerClient(TestServices.Blobs, BlobContainer);
        var names = new List<string>();
        if (await client.ExistsAsync())
        {
            await foreach (var blob in client.GetBlobsAsync())
            {
                names.Add(blob.Name);
            }
        }
        return names;
    }

    /// <summary>A query's one text value (e.g. <c>select string_agg(...)</c>) on the farm's database.</summary>
    public async Task<string?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync() as string;
    }

    public string Logs() => string.Join("\n", _processes.Select(p => p.Tail()));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        await Database.DropAsync();
        await new BlobContainerClient(TestServices.Blobs, BlobContainer).DeleteIfExistsAsync();
        Directory.Delete(_home, recursive: true);
        Directory.Delete(ModelsFolder, recursive: true);
    }
}
