using System.Text.Json.Nodes;
using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// docker-compose.yml with Debian's docker-compose 1.29 (`config` validates and resolves without an engine): each
/// profile, .env.example naming every variable, secrets required rather than baked in, the GPU reservation, and
/// yamllint over the YAML files of the deployment.
/// </summary>
[Collection(DeployCollection.Name)]
public sealed class ComposeTests(DeployFixture fixture)
{
    private readonly ComposeProject _compose = new(fixture.Tools);

    /// <summary>.env.example with its three secrets filled in, as a user's .env.</summary>
    private static TemporaryFile UserEnvFile(Dictionary<string, string>? more = null)
    {
        var values = new Dictionary<string, string>
        {
            ["POSTGRES_PASSWORD"] = "postgres-secret",
            ["RABBITMQ_PASSWORD"] = "rabbit-secret",
            ["SEG_API_KEY_SHA256"] = new string('a', 64),
            ["SEG_METRICS_API_KEY_SHA256"] = new string('b', 64),
        };
        foreach (var (key, value) in more ?? [])
        {
            values[key] = value;
        }
        return ComposeProject.WriteEnvFile(values);
    }

    public static TheoryData<string> Profiles => new(["(none)", .. ComposeProject.Profiles]);

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Docker_compose_config_accepts_the_file(string profile)
    {
        using var env = UserEnvFile();
        var config = await _compose.ConfigAsync(env.Path, profile == "(none)" ? null : profile);
        Assert.True(config.Succeeded, config.ToString());
        Assert.Contains("services:", config.Stdout);
    }

    [Fact]
    public void Env_example_lists_every_variable_the_compose_file_reads_and_no_other()
    {
        var example = ComposeProject.ReadEnvFile(ComposeProject.EnvExample).Keys.Where(k => !k.StartsWith("COMPOSE_", StringComparison.Ordinal)).ToHashSet();
        var used = _compose.Variables();
        Assert.Empty(used.Except(example));
        Assert.Empty(example.Except(used));
        Assert.Contains("COMPOSE_PROFILES", ComposeProject.ReadEnvFile(ComposeProject.EnvExample).Keys);
    }

    [Theory]
    [InlineData("POSTGRES_PASSWORD")]
    [InlineData("RABBITMQ_PASSWORD")]
    [InlineData("SEG_API_KEY_SHA256")]
    [InlineData("SEG_METRICS_API_KEY_SHA256")]
    public async Task A_secret_left_empty_stops_compose_with_its_name(string secret)
    {
        using var env = UserEnvFile(new() { [secret] = "" });
        var config = await _compose.ConfigAsync(env.Path);
        Assert.False(config.Succeeded, config.ToString());
        Assert.Contains($"set {secret} in .env", config.Stderr);
    }

    [Fact]
    public async Task The_gpu_worker_reserves_every_GPU_and_the_cpu_worker_differs_only_in_its_devices()
    {
        using var env = UserEnvFile();
        var resolved = await _compose.ResolveAsync(env.Path, "gpu");
        var gpu = ComposeProject.Service(resolved, "worker");
        var device = Assert.Single(gpu["deploy"]!["resources"]!["reservations"]!["devices"]!.AsArray())!;
        Assert.Equal("nvidia", (string)device["driver"]!);
        Assert.Equal("all", (string)device["count"]!);
        Assert.Equal(["gpu"], device["capabilities"]!.AsArray().Select(c => (string)c!));
        Assert.Equal(["gpu"], gpu["profiles"]!.AsArray().Select(p => (string)p!));
        Assert.Equal(["cpu"], ComposeProject.Service(resolved, "worker-cpu")["profiles"]!.AsArray().Select(p => (string)p!));
        Assert.Equal(["observability"], ComposeProject.Service(resolved, "otel-collector")["profiles"]!.AsArray().Select(p => (string)p!));

        var gpuEnv = ComposeProject.Environment(resolved, "worker");
        var cpuEnv = ComposeProject.Environment(resolved, "worker-cpu");
        Assert.Equal("all", gpuEnv["SEG_WORKER_DEVICES"]);
        Assert.Equal("cpu", cpuEnv["SEG_WORKER_DEVICES"]);
        string[] devices = ["SEG_WORKER_DEVICES", "Worker__CpuSlots"];
        Assert.Equal(gpuEnv.Where(p => !devices.Contains(p.Key)).OrderBy(p => p.Key), cpuEnv.Where(p => !devices.Contains(p.Key)).OrderBy(p => p.Key));
        // One queue for both sides.
        Assert.Equal(ComposeProject.Environment(resolved, "coordinator")["Coordinator__RenderTaskQueue"], gpuEnv["Worker__QueueName"]);

        // A stop lets the drain finish: stop_grace_period above the drain timeout plus the worker's 40 s.
        var grace = ParseDuration((string)gpu["stop_grace_period"]!);
        Assert.True(grace.TotalSeconds >= int.Parse(gpuEnv["Worker__DrainTimeoutSeconds"]) + 40, $"stop_grace_period {grace} too short");
        Assert.Contains("/models", ComposeProject.MountPaths(resolved, "worker"));
        Assert.Contains("/var/cache/seg", ComposeProject.MountPaths(resolved, "worker"));
        Assert.True((bool?)gpu["read_only"] == true);
    }

    [Fact]
    public async Task The_coordinator_starts_after_the_services_are_healthy_and_the_workers_after_the_coordinator()
    {
        using var env = UserEnvFile();
        var resolved = await _compose.ResolveAsync(env.Path, "cpu");
        var dependencies = ComposeProject.Service(resolved, "coordinator")["depends_on"]!.AsObject();
        Assert.Equal(["azurite", "postgres", "rabbitmq"], dependencies.Select(d => d.Key).Order());
        Assert.All(dependencies, d => Assert.Equal("service_healthy", (string)d.Value!["condition"]!));
        Assert.Equal("service_healthy", (string)ComposeProject.Service(resolved, "worker-cpu")["depends_on"]!["coordinator"]!["condition"]!);
        foreach (var service in new[] { "postgres", "rabbitmq", "azurite", "coordinator" })
        {
            Assert.NotNull(ComposeProject.Service(resolved, service)["healthcheck"]?["test"]);
        }
        // Azurite keeps its data in a volume (not in memory); PostgreSQL and RabbitMQ too.
        Assert.Contains("--location /data", (string)ComposeProject.Service(resolved, "azurite")["command"]!);
        Assert.DoesNotContain("inMemoryPersistence", (string)ComposeProject.Service(resolved, "azurite")["command"]!);
        Assert.Equal(["azurite-data", "grafana-data", "postgres-data", "prometheus-data", "rabbitmq-data", "worker-cache"], resolved["volumes"]!.AsObject().Select(v => v.Key).Order());
    }

    [Fact]
    public async Task The_observability_profile_runs_prometheus_with_the_metrics_key_and_grafana_with_the_provisioning_mounted()
    {
        using var env = UserEnvFile(new() { ["SEG_GRAFANA_DB_PASSWORD"] = "reader-secret" });
        var resolved = await _compose.ResolveAsync(env.Path, "observability");
        Assert.Contains("/etc/prometheus/prometheus.yml", ComposeProject.MountPaths(resolved, "prometheus"));
        Assert.Contains("/etc/prometheus/coordinator-token", ComposeProject.MountPaths(resolved, "prometheus"));
        Assert.Contains("/etc/grafana/provisioning", ComposeProject.MountPaths(resolved, "grafana"));
        Assert.Contains("/var/lib/grafana/dashboards/seg", ComposeProject.MountPaths(resolved, "grafana"));
        var grafana = ComposeProject.Environment(resolved, "grafana");
        Assert.Equal("seg_grafana", grafana["SEG_GRAFANA_DB_USER"]);
        Assert.Equal("reader-secret", grafana["SEG_GRAFANA_DB_PASSWORD"]);
        Assert.Equal("http://prometheus:9090", grafana["SEG_PROMETHEUS_URL"]);
        var coordinator = ComposeProject.Environment(resolved, "coordinator");
        Assert.Equal("read", coordinator["Auth__ApiKeys__1__Scopes__0"]);
        Assert.Equal(new string('b', 64), coordinator["Auth__ApiKeys__1__KeySha256"]);

        // The scrape configuration sends the key to the coordinator (its /metrics needs the read scope), not to the workers.
        var prometheus = System.IO.File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "infra", "prometheus", "prometheus.yml"));
        var coordinatorJob = prometheus[prometheus.IndexOf("job_name: seg-coordinator", StringComparison.Ordinal)..prometheus.IndexOf("job_name: seg-worker", StringComparison.Ordinal)];
        Assert.Contains("credentials_file: /etc/prometheus/coordinator-token", coordinatorJob);
        Assert.Contains("coordinator:8080", coordinatorJob);
        // The provisioned datasources are the ones the dashboards name.
        var datasources = System.IO.File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "provisioning", "datasources", "seg.yaml"));
        foreach (var dashboard in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "dashboards"), "*.json"))
        {
            foreach (System.Text.RegularExpressions.Match uid in System.Text.RegularExpressions.Regex.Matches(System.IO.File.ReadAllText(dashboard), "\"uid\": \"(seg-[a-z]+)\""))
            {
                if (uid.Groups[1].Value is "seg-prometheus" or "seg-postgres")
                {
                    Assert.Contains($"uid: {uid.Groups[1].Value}", datasources);
                }
            }
        }
    }

    [Fact]
    public async Task Yamllint_passes_on_the_deployment_YAML()
    {
        string[] files =
        [
            ComposeProject.DefaultFile,
            Path.Combine(TestPaths.RepoRoot, "infra", "otel", "collector.yaml"),
            Path.Combine(TestPaths.RepoRoot, "infra", "prometheus", "prometheus.yml"),
            Path.Combine(TestPaths.RepoRoot, "infra", "prometheus", "prometheus-dev.yml"),
            .. Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "provisioning"), "*.yaml", SearchOption.AllDirectories),
            Path.Combine(SegFarmChart.DefaultFolder, "Chart.yaml"),
            Path.Combine(SegFarmChart.DefaultFolder, "values.yaml"),
            .. SegFarmChart.Examples,
            .. Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "tests", "Seg.Deploy.Tests", "Values"), "*.yaml"),
        ];
        var lint = await ToolRun.RunAsync(fixture.Tools.Yamllint,
            ["--strict", "--config-file", Path.Combine(TestPaths.RepoRoot, ".yamllint.yaml"), .. files]);
        Assert.True(lint.Succeeded, lint.ToString());
    }

    /// <summary>Compose durations such as <c>165s</c>, <c>2m30s</c>, <c>1m</c>.</summary>
    private static TimeSpan ParseDuration(string text)
    {
        var total = TimeSpan.Zero;
        foreach (System.Text.RegularExpressions.Match part in System.Text.RegularExpressions.Regex.Matches(text, @"(\d+)(h|m|s)"))
        {
            var value = int.Parse(part.Groups[1].Value);
            total += part.Groups[2].Value switch { "h" => TimeSpan.FromHours(value), "m" => TimeSpan.FromMinutes(value), _ => TimeSpan.FromSeconds(value) };
        }
        return total;
    }
}
