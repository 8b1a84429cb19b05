using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// Config parity: the environment that the chart's pods get (ConfigMaps and Secrets resolved, the Secrets with the
/// test's values) and, separately, that the compose services get, with only the service host names and ports (and the
/// mounted volumes' paths) changed to this machine's, starts the real published coordinator and worker; a sweep
/// submitted with the API key the deployment configured finishes, and the probes the deployment names answer on the
/// ports it names. Every variable name is checked against the keys the programs read.
/// </summary>
[Collection(DeployCollection.Name)]
public sealed class ConfigParityTests(DeployFixture fixture)
{
    // The API keys: the admin key is what the test puts in the Secret parity-api-keys (the chart names the Secret);
    // parity.yaml configures the reader key by its SHA-256, with the read scope only.
    private const string AdminKey = "parity-admin-key-0123456789";
    private const string ReaderKey = "test-reader-key-0123456789";

    // The services' names as a cluster has them, and Azurite's well-known development key (public, by Microsoft).
    private static readonly (string Postgres, string Rabbit, string Blobs) Cluster =
        ("postgresql.databases.svc.cluster.local", "rabbitmq.messaging.svc.cluster.local", "azurite.storage.svc.cluster.local");

    private const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static string Sweep(string name) => $$"""
        name: {{name}}
        model: tiny
        prompts: ["a lighthouse on a cliff"]
        seeds: [1, 2]
        seg_scale: [3]
        seg_blur_sigma: [inf]
        guidance_scale: [5]
        steps: [2]
        size: ["64x64"]
        """;

    [Fact]
    public async Task The_charts_pod_settings_run_the_real_programs_through_a_sweep()
    {
        var images = await fixture.ImagesAsync();
        await using var farm = await DeployedFarm.CreateAsync("deploy-helm");
        var manifests = await new SegFarmChart(fixture.Tools).RenderAsync([SegFarmChart.TestValues("parity.yaml")],
            new Dictionary<string, string> { ["farm.renderQueue"] = farm.RenderQueue, ["blobStorage.containerName"] = farm.BlobContainer });
        Assert.True(manifests.SchemaErrors.Count == 0, string.Join("\n", manifests.SchemaErrors));

        var postgres = new NpgsqlConnectionStringBuilder(TestServices.Postgres);
        var secrets = new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["parity-postgresql"] = new Dictionary<string, string>
            {
                ["connection-string"] = $"Host={Cluster.Postgres};Port=5432;Username={postgres.Username};Database={farm.Database.Name}",
            },
            ["parity-rabbitmq"] = new Dictionary<string, string>
            {
                ["username"] = TestServices.RabbitUser,
                ["password"] = TestServices.RabbitPassword,
                ["management-uri"] = $"http://{TestServices.RabbitUser}:{TestServices.RabbitPassword}@{Cluster.Rabbit}:15672/",
            },
            ["parity-blob-storage"] = new Dictionary<string, string>
            {
                ["connection-string"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteKey};BlobEndpoint=http://{Cluster.Blobs}:10000/devstoreaccount1;",
            },
            ["parity-api-keys"] = new Dictionary<string, string> { ["admin"] = AdminKey },
        };
        var services = LoopbackServices.ForTestServices(Cluster.Postgres, Cluster.Rabbit, Cluster.Blobs);
        var changes = new List<string>();
        DeployedProgram FromPod(string component, ImageTarget image)
        {
            var deployment = manifests.Component("Deployment", component);
            var env = PodEnvironment.Resolve(deployment, manifests, image.Environment, secrets,
                new Dictionary<string, string> { ["metadata.name"] = $"{component}-pod-1", ["metadata.namespace"] = "seg" });
            Assert.Empty(ConfigurationKeyTests.Keys(component).Unread(env.Keys));
            var containerSpec = PodEnvironment.Container(deployment);
            var mounts = containerSpec["volumeMounts"]!.AsArray().Select(m => (string)m!["mountPath"]!).Where(p => p != "/tmp")
                .ToDictionary(p => p, p => p == "/models" ? farm.ModelsFolder : fixture.WorkerCache);
            var port = DeployedFarm.FreePort();
            return new DeployedProgram(image, services.Map(env, (HttpPort(containerSpec), port), mounts, changes), port);
        }

        var coordinator = FromPod("coordinator", images.Target("coordinator.Dockerfile", "coordinator"));
        var worker = FromPod("worker", images.Target("worker.Dockerfile", "worker-cpu"));
        AssertEachServiceMapped(services, changes);

        foreach (var (component, program) in new[] { ("coordinator", coordinator), ("worker", worker) })
        {
            var containerSpec = PodEnvironment.Container(manifests.Component("Deployment", component));
            await farm.StartAsync(component, program, ProbePath(containerSpec, "startupProbe"));
            await farm.WaitForAsync(program, ProbePath(containerSpec, "livenessProbe"), TimeSpan.FromSeconds(30));
            await farm.WaitForAsync(program, ProbePath(containerSpec, "readinessProbe"), TimeSpan.FromSeconds(60));
            // The image's HEALTHCHECK passes too.
            var health = await DeployedFarm.HealthCheckAsync(program);
            Assert.True(health.Succeeded, health + farm.Logs());
        }

        Assert.Equal("succeeded", await farm.RunSweepAsync(coordinator, AdminKey, Sweep("helm-parity"), TimeSpan.FromMinutes(3)));
        Assert.Equal(2, (await farm.BlobsAsync()).Count);
        // The worker took its id from the pod's name (fieldRef), and the sweep records the key's name.
        Assert.Equal("worker-pod-1", await farm.ScalarAsync("select string_agg(distinct worker_id, ',') from images"));
        Assert.Equal("parity-admin", await farm.ScalarAsync("select string_agg(submitted_by, ',') from sweeps"));

        // The key configured by its SHA-256 reads, and may not submit.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{coordinator.Port}/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ReaderKey);
        using var read = await http.GetAsync(new Uri("api/sweeps", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var submit = await http.PostAsync(new Uri("api/sweeps", UriKind.Relative), new StringContent(Sweep("refused"), Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
    }

    [Fact]
    public async Task The_compose_services_settings_run_the_real_programs_through_a_sweep()
    {
        var images = await fixture.ImagesAsync();
        await using var farm = await DeployedFarm.CreateAsync("deploy-compose");
        var postgres = new NpgsqlConnectionStringBuilder(TestServices.Postgres);
        using var envFile = ComposeProject.WriteEnvFile(new Dictionary<string, string>
        {
            ["COMPOSE_PROFILES"] = "cpu",
            ["POSTGRES_USER"] = postgres.Username!,
            ["POSTGRES_DB"] = farm.Database.Name,
            // The test's PostgreSQL trusts loopback: any password will do.
            ["POSTGRES_PASSWORD"] = "compose-parity",
            ["RABBITMQ_USER"] = TestServices.RabbitUser,
            ["RABBITMQ_PASSWORD"] = TestServices.RabbitPassword,
            ["SEG_API_KEY_NAME"] = "compose-admin",
            ["SEG_API_KEY_SHA256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey))),
            ["SEG_METRICS_API_KEY_SHA256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey + "-metrics"))),
            ["SEG_RENDER_QUEUE"] = farm.RenderQueue,
            ["SEG_BLOB_CONTAINER"] = farm.BlobContainer,
            ["SEG_MODELS_DIR"] = farm.ModelsFolder,
            ["SEG_DRAIN_TIMEOUT_SECONDS"] = "30",
        });
        var resolved = await new ComposeProject(fixture.Tools).ResolveAsync(envFile.Path, "cpu");
        var services = LoopbackServices.ForTestServices("postgres", "rabbitmq", "azurite");
        var changes = new List<string>();

        DeployedProgram FromService(string service, string component, ImageTarget image)
        {
            var env = new Dictionary<string, string>(image.Environment);
            foreach (var (name, value) in ComposeProject.Environment(resolved, service))
            {
                env[name] = value;
            }
            Assert.Empty(ConfigurationKeyTests.Keys(component).Unread(env.Keys));
            // Volumes: a bind mount is its host folder; the named cache volume is the fixture's cache folder.
            var mounts = new Dictionary<string, string>();
            foreach (var volume in ComposeProject.Service(resolved, service)["volumes"]?.AsArray() ?? [])
            {
                var parts = volume!.ToString().Split(':');
                mounts[parts[1]] = parts[0].StartsWith('/') ? parts[0] : fixture.WorkerCache;
            }
            var port = DeployedFarm.FreePort();
            return new DeployedProgram(image, services.Map(env, (int.Parse(env["ASPNETCORE_HTTP_PORTS"]), port), mounts, changes), port);
        }

        var coordinatorImage = images.Target("coordinator.Dockerfile", "coordinator");
        var coordinator = FromService("coordinator", "coordinator", coordinatorImage);
        var worker = FromService("worker-cpu", "worker", images.Target("worker.Dockerfile", "worker-cpu"));
        AssertEachServiceMapped(services, changes);
        // The published port is the one the coordinator listens on.
        var published = Assert.Single(ComposeProject.Service(resolved, "coordinator")["ports"]!.AsArray())!;
        Assert.Equal("8080", published["target"]!.ToString());

        await farm.StartAsync("coordinator", coordinator, "/healthz");
        // The compose file's own health check of the coordinator (readiness, which the workers wait for).
        var composeCheck = ComposeProject.Service(resolved, "coordinator")["healthcheck"]!["test"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal("CMD", composeCheck[0]);
        await farm.WaitForAsync(coordinator, composeCheck[^1], TimeSpan.FromSeconds(60));
        var coordinatorHealth = await DeployedFarm.HealthCheckAsync(coordinator, composeCheck[1..]);
        Assert.True(coordinatorHealth.Succeeded, coordinatorHealth + farm.Logs());

        await farm.StartAsync("worker", worker, "/healthz");
        await farm.WaitForAsync(worker, "/readyz", TimeSpan.FromSeconds(60));
        var workerHealth = await DeployedFarm.HealthCheckAsync(worker);
        Assert.True(workerHealth.Succeeded, workerHealth + farm.Logs());

        // Submitted as a user does with the image's `seg` CLI, the key from the environment.
        var sweep = Path.Combine(farm.ModelsFolder, "sweep.yaml");
        await File.WriteAllTextAsync(sweep, Sweep("compose-parity"));
        var cli = Path.Combine(images.CopiedFolder(coordinatorImage, "/opt/seg-cli"), "seg.dll");
        var run = await ToolRun.RunAsync("dotnet", [cli, "run", sweep, "--farm", $"http://127.0.0.1:{coordinator.Port}/"],
            environment: new Dictionary<string, string?> { ["SEG_API_KEY"] = AdminKey }, inheritEnvironment: false, timeout: TimeSpan.FromMinutes(4));
        Assert.True(run.Succeeded, run + farm.Logs());
        Assert.Contains(": succeeded, 2 succeeded, 0 failed", run.Stdout);
        Assert.Equal(2, (await farm.BlobsAsync()).Count);
        Assert.Equal("compose-admin", await farm.ScalarAsync("select string_agg(submitted_by, ',') from sweeps"));
    }

    /// <summary>The container's port named http: where the probes go and what ASPNETCORE_HTTP_PORTS must say.</summary>
    private static int HttpPort(JsonObject container) =>
        container["ports"]!.AsArray().Single(p => (string)p!["name"]! == "http")!["containerPort"]!.GetValue<int>();

    /// <summary>An HTTP probe's path, after checking that it goes to the http port.</summary>
    private static string ProbePath(JsonObject container, string probe)
    {
        var get = container[probe]?["httpGet"] ?? throw new Xunit.Sdk.XunitException($"no {probe} httpGet");
        Assert.Equal("http", (string)get["port"]!);
        return (string)get["path"]!;
    }

    /// <summary>The run is only a proof if every service was moved to this machine (none was left at a cluster address).</summary>
    private static void AssertEachServiceMapped(LoopbackServices services, List<string> changes)
    {
        foreach (var service in services.Services)
        {
            Assert.True(changes.Any(c => c.Contains(service.Host, StringComparison.Ordinal)),
                $"nothing named the {service.Name} host {service.Host}; changes:\n{string.Join("\n", changes)}");
        }
    }
}
