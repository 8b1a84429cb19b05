using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// helm/seg-farm with helm v4 itself: lint and template for the default values and every example, every rendered
/// object checked against the Kubernetes and KEDA schemas, and what the farm needs from the objects: GPU limits,
/// the KEDA trigger on the workers' own queue over http, scaling to zero, a grace period above the drain timeout,
/// non-root pods with read-only root filesystems.
/// </summary>
[Collection(DeployCollection.Name)]
public sealed partial class ChartTests(DeployFixture fixture)
{
    private const string Defaults = "(default values)";

    private readonly SegFarmChart _chart = new(fixture.Tools);

    /// <summary>The default values and each example, by file name.</summary>
    public static TheoryData<string> ValuesFiles => new([Defaults, .. SegFarmChart.Examples.Select(Path.GetFileName).OfType<string>()]);

    private static string? ValuesPath(string name) => name == Defaults ? null : Path.Combine(SegFarmChart.DefaultFolder, "examples", name);

    private Task<(RenderedManifests Manifests, JsonObject Values)> RenderAsync(string name) => fixture.RenderAsync(ValuesPath(name));

    private static Dictionary<string, string> Env(RenderedManifests manifests, string component) =>
        PodEnvironment.Resolve(manifests.Component("Deployment", component), manifests, new Dictionary<string, string>(),
            ChartValues.PlaceholderSecrets(manifests), new Dictionary<string, string> { ["metadata.name"] = $"{component}-pod" });

    [Fact]
    public void There_are_examples_for_4_GPUs_per_node_Azure_Blob_Storage_and_CPU_workers()
    {
        var names = SegFarmChart.Examples.Select(Path.GetFileName).ToList();
        Assert.Contains("gpu-4-per-node.yaml", names);
        Assert.Contains("azure-blob-storage.yaml", names);
        Assert.Contains("cpu-workers.yaml", names);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Helm_lint_passes(string values)
    {
        var file = ValuesPath(values);
        var lint = await _chart.LintAsync(file is null ? [] : [file]);
        Assert.True(lint.Succeeded, lint.ToString());
        Assert.Contains("0 chart(s) failed", lint.Stdout);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Every_rendered_object_validates_against_the_Kubernetes_and_KEDA_schemas(string values)
    {
        var (manifests, _) = await RenderAsync(values);
        Assert.True(manifests.SchemaErrors.Count == 0, string.Join("\n", manifests.SchemaErrors));
        var kinds = manifests.Objects.Select(o => (string)o["kind"]!).ToHashSet();
        foreach (var kind in new[] { "Deployment", "Service", "ConfigMap", "ServiceAccount", "ScaledObject", "TriggerAuthentication", "PodDisruptionBudget" })
        {
            Assert.Contains(kind, kinds);
        }
        Assert.Equal(2, manifests.OfKind("Deployment").Count());
    }

    [Fact]
    public async Task The_schema_check_of_rendered_objects_can_fail()
    {
        // The same check on a Deployment with a wrong type: it must say so, or a pass above means nothing.
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: broken}
                spec:
                  replicas: "two"
                  selector: {matchLabels: {a: b}}
                  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
                """);
            var manifests = await RenderedManifests.ReadAsync(fixture.Tools, file);
            Assert.Contains(manifests.SchemaErrors, e => e.StartsWith("Deployment/broken:", StringComparison.Ordinal) && e.Contains("replicas must be integer"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Workers_get_nvidia_gpu_limits_and_one_device_setting_per_GPU(string values)
    {
        var (manifests, effective) = await RenderAsync(values);
        var gpus = ChartValues.Int(effective, "worker", "gpusPerPod");
        var container = PodEnvironment.Container(manifests.Component("Deployment", "worker"));
        var limits = container["resources"]?["limits"]?.AsObject() ?? [];
        var env = Env(manifests, "worker");
        var devices = env.Where(p => p.Key.StartsWith("Worker__Devices__", StringComparison.Ordinal)).OrderBy(p => int.Parse(p.Key[17..])).Select(p => p.Value).ToList();
        if (gpus > 0)
        {
            Assert.Equal(gpus, limits["nvidia.com/gpu"]!.GetValue<int>());
            Assert.Equal(Enumerable.Range(0, gpus).Select(i => $"cuda:{i}"), devices);
            Assert.DoesNotContain("-cpu", (string)container["image"]!);
        }
        else
        {
            Assert.False(limits.ContainsKey("nvidia.com/gpu"), "a CPU worker asks for no GPU");
            Assert.Equal(["cpu"], devices);
            Assert.Equal(ChartValues.Int(effective, "worker", "cpuSlots").ToString(), env["Worker__CpuSlots"]);
            Assert.EndsWith("-cpu", (string)container["image"]!);
        }
        Assert.False(PodEnvironment.Container(manifests.Component("Deployment", "coordinator"))["resources"]?["limits"]?.AsObject().ContainsKey("nvidia.com/gpu") ?? false);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task The_KEDA_trigger_counts_the_workers_own_queue_over_http_and_scales_to_zero(string values)
    {
        var (manifests, effective) = await RenderAsync(values);
        var scaledObject = manifests.Component("ScaledObject", "worker");
        var spec = scaledObject["spec"]!;
        Assert.Equal((string)manifests.Component("Deployment", "worker")["metadata"]!["name"]!, (string)spec["scaleTargetRef"]!["name"]!);
        Assert.Equal(0, spec["minReplicaCount"]!.GetValue<int>());
        Assert.Equal(ChartValues.Int(effective, "keda", "maxReplicaCount"), spec["maxReplicaCount"]!.GetValue<int>());

        var trigger = Assert.Single(spec["triggers"]!.AsArray())!;
        Assert.Equal("rabbitmq", (string)trigger["type"]!);
        var metadata = trigger["metadata"]!;
        // http: the management API's count includes the unacknowledged (rendering) messages (DESIGN.md section 5).
        Assert.Equal("http", (string)metadata["protocol"]!);
        Assert.Equal("QueueLength", (string)metadata["mode"]!);
        // One queue: the one the worker pods consume and the coordinator pods send to.
        var queue = (string)metadata["queueName"]!;
        Assert.Equal(Env(manifests, "worker")["Worker__QueueName"], queue);
        Assert.Equal(Env(manifests, "coordinator")["Coordinator__RenderTaskQueue"], queue);
        var gpus = ChartValues.Int(effective, "worker", "gpusPerPod");
        var slots = gpus > 0 ? gpus : ChartValues.Int(effective, "worker", "cpuSlots");
        Assert.Equal((slots * ChartValues.Int(effective, "keda", "messagesPerSlot")).ToString(), (string)metadata["value"]!);

        // Its credentials: the management URL from the broker's Secret.
        var authentication = manifests.Get("TriggerAuthentication", (string)trigger["authenticationRef"]!["name"]!);
        var target = Assert.Single(authentication["spec"]!["secretTargetRef"]!.AsArray())!;
        Assert.Equal("host", (string)target["parameter"]!);
        Assert.Equal(ChartValues.String(effective, "rabbitmq", "existingSecret"), (string)target["name"]!);
        Assert.Equal(ChartValues.String(effective, "rabbitmq", "managementUriKey"), (string)target["key"]!);
        // KEDA owns the worker count: the Deployment sets none that an upgrade would reset.
        Assert.Null(manifests.Component("Deployment", "worker")["spec"]!["replicas"]);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task The_worker_grace_period_is_the_drain_timeout_plus_a_margin_of_at_least_40_seconds(string values)
    {
        var (manifests, effective) = await RenderAsync(values);
        var grace = PodEnvironment.PodSpec(manifests.Component("Deployment", "worker"))["terminationGracePeriodSeconds"]!.GetValue<int>();
        var drain = int.Parse(Env(manifests, "worker")["Worker__DrainTimeoutSeconds"]);
        Assert.Equal(ChartValues.Int(effective, "worker", "drainTimeoutSeconds"), drain);
        Assert.True(grace > drain, $"grace period {grace} s is not above the drain timeout {drain} s");
        // The worker's host allows DrainTimeoutSeconds + 40 s to stop (src/Seg.Worker/README.md, Shutdown).
        Assert.True(grace >= drain + 40, $"grace period {grace} s leaves the worker less than 40 s after a {drain} s drain");
        Assert.Equal(drain + ChartValues.Int(effective, "worker", "terminationGraceMarginSeconds"), grace);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Every_pod_runs_as_non_root_with_a_read_only_root_filesystem_and_no_capabilities(string values)
    {
        var (manifests, _) = await RenderAsync(values);
        foreach (var deployment in manifests.OfKind("Deployment"))
        {
            var name = RenderedManifests.Describe(deployment);
            var pod = PodEnvironment.PodSpec(deployment);
            Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"] == true, $"{name}: pod runAsNonRoot");
            Assert.NotEqual(0, pod["securityContext"]?["runAsUser"]?.GetValue<int>() ?? 0);
            Assert.False((bool?)pod["automountServiceAccountToken"] ?? true, $"{name}: no API token (neither program calls the API)");
            var volumes = pod["volumes"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!.AsObject());
            foreach (var container in pod["containers"]!.AsArray())
            {
                var security = container!["securityContext"]!;
                Assert.True((bool?)security["runAsNonRoot"] == true, $"{name}: container runAsNonRoot");
                Assert.True((bool?)security["readOnlyRootFilesystem"] == true, $"{name}: readOnlyRootFilesystem");
                Assert.True((bool?)security["allowPrivilegeEscalation"] == false, $"{name}: allowPrivilegeEscalation false");
                Assert.Contains("ALL", security["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!));
                // .NET needs a writable /tmp: an emptyDir, since the root filesystem is read-only.
                var tmp = container["volumeMounts"]!.AsArray().Single(m => (string)m!["mountPath"]! == "/tmp")!;
                Assert.True(volumes[(string)tmp["name"]!].ContainsKey("emptyDir"), $"{name}: /tmp is an emptyDir");
            }
        }
        // The worker's cache folder is a writable emptyDir mounted where Worker__CacheFolder points.
        var worker = PodEnvironment.Container(manifests.Component("Deployment", "worker"));
        var cache = Env(manifests, "worker")["Worker__CacheFolder"];
        var cacheMount = worker["volumeMounts"]!.AsArray().Single(m => (string)m!["mountPath"]! == cache)!;
        Assert.NotEqual(true, (bool?)cacheMount["readOnly"]);
        var models = worker["volumeMounts"]!.AsArray().Single(m => (string)m!["mountPath"]! == Env(manifests, "worker")["Worker__ModelRoot"])!;
        Assert.True((bool?)models["readOnly"] == true, "models are mounted read-only");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Probes_are_HTTP_on_the_port_the_programs_listen_on(string values)
    {
        var (manifests, _) = await RenderAsync(values);
        foreach (var component in new[] { "coordinator", "worker" })
        {
            var container = PodEnvironment.Container(manifests.Component("Deployment", component));
            var port = Assert.Single(container["ports"]!.AsArray())!;
            Assert.Equal("http", (string)port["name"]!);
            Assert.Equal(Env(manifests, component)["ASPNETCORE_HTTP_PORTS"], port["containerPort"]!.ToString());
            foreach (var (probe, path) in new[] { ("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz") })
            {
                Assert.Equal(path, (string)container[probe]!["httpGet"]!["path"]!);
                Assert.Equal("http", (string)container[probe]!["httpGet"]!["port"]!);
            }
        }
        var service = manifests.Component("Service", "coordinator");
        Assert.Equal("http", (string)Assert.Single(service["spec"]!["ports"]!.AsArray())!["targetPort"]!);
    }

    [Fact]
    public async Task A_values_file_with_a_wrong_type_is_refused_with_the_schemas_message()
    {
        var template = await _chart.TemplateAsync([SegFarmChart.TestValues("wrong-type.yaml")]);
        Assert.False(template.Succeeded, template.ToString());
        Assert.Contains("at '/worker/gpusPerPod': got string, want integer", template.Stderr);
        var lint = await _chart.LintAsync(SegFarmChart.TestValues("wrong-type.yaml"));
        Assert.False(lint.Succeeded, lint.ToString());
        Assert.Contains("got string, want integer", lint.Stdout + lint.Stderr);
    }

    [Fact]
    public async Task A_misspelt_values_key_is_refused_by_name()
    {
        var template = await _chart.TemplateAsync([SegFarmChart.TestValues("misspelt-key.yaml")]);
        Assert.False(template.Succeeded, template.ToString());
        Assert.Contains("at '/worker': additional properties 'drainTimeoutSecond' not allowed", template.Stderr);
    }

    [Fact]
    public async Task A_release_without_an_API_key_is_refused_with_what_to_do()
    {
        var template = await _chart.TemplateAsync([SegFarmChart.TestValues("no-api-key.yaml")]);
        Assert.False(template.Succeeded, template.ToString());
        Assert.Contains("auth.apiKeys: at least one API key is required", template.Stderr);
    }

    [Fact]
    public async Task The_monitoring_example_scrapes_the_coordinator_with_its_key_and_the_workers_and_ships_every_dashboard_to_the_sidecar()
    {
        var (manifests, _) = await RenderAsync("kube-prometheus-stack.yaml");
        Assert.Empty(manifests.SchemaErrors);
        var monitor = Assert.Single(manifests.OfKind("ServiceMonitor"));
        Assert.Equal("kube-prometheus-stack", (string)monitor["metadata"]!["labels"]!["release"]!);
        Assert.Equal("coordinator", (string)monitor["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/component"]!);
        var endpoint = monitor["spec"]!["endpoints"]!.AsArray().Single()!;
        Assert.Equal("/metrics", (string)endpoint["path"]!);
        Assert.Equal("http", (string)endpoint["port"]!);
        // The coordinator's /metrics needs the read scope: the key goes as a bearer token, from the Secret the example's
        // second API key (scope read) reads too.
        Assert.Equal("Bearer", (string)endpoint["authorization"]!["type"]!);
        Assert.Equal("seg-farm-metrics", (string)endpoint["authorization"]!["credentials"]!["name"]!);
        var pods = Assert.Single(manifests.OfKind("PodMonitor"));
        Assert.Equal("worker", (string)pods["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/component"]!);
        Assert.Equal("http", (string)pods["spec"]!["podMetricsEndpoints"]!.AsArray().Single()!["port"]!);

        var dashboards = manifests.OfKind("ConfigMap").Where(c => c["metadata"]!["labels"]!["grafana_dashboard"] is not null).ToList();
        var files = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "dashboards"), "*.json");
        Assert.Equal(files.Length, dashboards.Count);
        foreach (var file in files)
        {
            var map = Assert.Single(dashboards, d => d["data"]!.AsObject().ContainsKey(Path.GetFileName(file)));
            Assert.Equal("1", (string)map["metadata"]!["labels"]!["grafana_dashboard"]!);
            // The same dashboard as infra/grafana/dashboards (the chart links to those files).
            Assert.Equal(JsonNode.Parse(File.ReadAllText(file))!.ToJsonString(), JsonNode.Parse((string)map["data"]![Path.GetFileName(file)]!)!.ToJsonString());
        }

        // Off by default: no CRD objects where the Prometheus Operator is not installed.
        var (defaults, _) = await RenderAsync(Defaults);
        Assert.Empty(defaults.OfKind("ServiceMonitor"));
        Assert.Empty(defaults.OfKind("PodMonitor"));
    }

    [Fact]
    public async Task A_service_monitor_without_its_key_secret_is_refused_with_what_to_do()
    {
        var template = await _chart.TemplateAsync([SegFarmChart.TestValues("service-monitor-without-secret.yaml")]);
        Assert.False(template.Succeeded, template.ToString());
        Assert.Contains("metrics.serviceMonitor.bearerTokenSecret.name", template.Stderr);
    }

    [Fact]
    public async Task Two_coordinator_replicas_are_allowed()
    {
        var manifests = await _chart.RenderAsync([], new Dictionary<string, string>());
        Assert.Equal(1, manifests.Component("Deployment", "coordinator")["spec"]!["replicas"]!.GetValue<int>());
        var template = await ToolRun.RunAsync(fixture.Tools.Helm, ["template", "seg", SegFarmChart.DefaultFolder, "--set", "coordinator.replicas=2"]);
        Assert.True(template.Succeeded, template.ToString());
        Assert.Contains("replicas: 2", template.Stdout);
    }

    [Fact]
    public async Task The_charts_appVersion_is_the_projects_version()
    {
        var chart = await ChartValues.ReadAsync(fixture.Tools, Path.Combine(SegFarmChart.DefaultFolder, "Chart.yaml"));
        Assert.Equal(ProjectVersion(), (string)chart["appVersion"]!);
    }

    /// <summary>Directory.Build.props' &lt;Version&gt;.</summary>
    public static string ProjectVersion() =>
        VersionElement().Match(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props"))).Groups[1].Value;

    [Fact]
    public async Task Every_values_key_is_documented_and_described_by_the_schema()
    {
        var valuesFile = Path.Combine(SegFarmChart.DefaultFolder, "values.yaml");
        var values = await ChartValues.ReadAsync(fixture.Tools, valuesFile);
        var schema = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(SegFarmChart.DefaultFolder, "values.schema.json")))!.AsObject();
        var commented = CommentedKeys(await File.ReadAllLinesAsync(valuesFile));
        var problems = new List<string>();
        CheckDocumented(values, schema, [], commented, problems);
        Assert.True(problems.Count == 0, "values without a comment above them or without a schema entry:\n" + string.Join("\n", problems));
    }

    /// <summary>
    /// A key is documented by a comment on the line above it (its subtree then counts as documented: Kubernetes objects
    /// such as resources pass through), or, for a map, by each of its keys; every key must be in the schema.
    /// </summary>
    private static void CheckDocumented(JsonObject values, JsonObject schema, string[] path, IReadOnlyDictionary<string, bool> commented, List<string> problems)
    {
        foreach (var (key, value) in values)
        {
            var name = string.Join('.', [.. path, key]);
            var keySchema = schema["properties"]?[key]?.AsObject();
            if (keySchema is null)
            {
                problems.Add($"{name}: not in values.schema.json");
            }
            else if (commented.GetValueOrDefault(name))
            {
                continue;
            }
            else if (value is JsonObject map && map.Count > 0)
            {
                CheckDocumented(map, keySchema, [.. path, key], commented, problems);
            }
            else
            {
                problems.Add($"{name}: no comment");
            }
        }
    }

    /// <summary>Each map key of a values file (dotted path) and whether a comment line stands right above it; list items are skipped.</summary>
    private static Dictionary<string, bool> CommentedKeys(string[] lines)
    {
        var keys = new Dictionary<string, bool>();
        var path = new List<(int Indent, string Key)>();
        var listIndent = -1;
        for (var i = 0; i < lines.Length; i++)
        {
            var match = KeyLine().Match(lines[i]);
            var indent = lines[i].Length - lines[i].TrimStart().Length;
            if (listIndent >= 0 && indent > listIndent && lines[i].Trim().Length > 0)
            {
                continue;
            }
            listIndent = lines[i].TrimStart().StartsWith("- ", StringComparison.Ordinal) ? indent : -1;
            if (!match.Success)
            {
                continue;
            }
            path.RemoveAll(p => p.Indent >= indent);
            path.Add((indent, match.Groups[2].Value));
            keys[string.Join('.', path.Select(p => p.Key))] = i > 0 && lines[i - 1].TrimStart().StartsWith('#');
        }
        return keys;
    }

    [GeneratedRegex(@"^( *)([A-Za-z][\w.-]*):")]
    private static partial Regex KeyLine();

    [GeneratedRegex("<Version>([^<]+)</Version>")]
    private static partial Regex VersionElement();
}
