using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// Every environment variable that the chart, the compose file and the images set is one their program reads
/// (<see cref="ConfigurationKeys"/>, derived from the options classes and appsettings.json): a misspelt or misplaced
/// setting is named here instead of being ignored by the program. The checks are shown to catch one.
/// </summary>
[Collection(DeployCollection.Name)]
public sealed class ConfigurationKeyTests(DeployFixture fixture)
{
    /// <summary>The keys the coordinator or the worker reads, with the image's entry-point scripts.</summary>
    public static ConfigurationKeys Keys(string component)
    {
        var (program, dockerfile, target) = component == "coordinator"
            ? ("Seg.Coordinator", "coordinator.Dockerfile", "coordinator")
            : ("Seg.Worker", "worker.Dockerfile", "worker-gpu");
        var stage = Dockerfile.Load(PublishedImages.DockerfilePath(dockerfile)).Stage(target);
        var scripts = stage.Copies.Where(c => c.FromStage is null && c.Destination == stage.Entrypoint[0])
            .Select(c => Path.Combine(TestPaths.RepoRoot, c.Sources.Single()));
        return ConfigurationKeys.For(program, Path.Combine(TestPaths.RepoRoot, "src", program, "appsettings.json"), scripts);
    }

    /// <summary>The ENV of the image a component runs (the worker's GPU or CPU image).</summary>
    public static IReadOnlyDictionary<string, string> ImageEnvironment(string component, bool cpu = false) => component == "coordinator"
        ? Dockerfile.Load(PublishedImages.DockerfilePath("coordinator.Dockerfile")).Stage("coordinator").Environment
        : Dockerfile.Load(PublishedImages.DockerfilePath("worker.Dockerfile")).Stage(cpu ? "worker-cpu" : "worker-gpu").Environment;

    /// <summary>The default values, each example and the parity test's values, by file name.</summary>
    public static TheoryData<string> ChartValuesFiles => new(
    [
        "(default values)",
        .. SegFarmChart.Examples.Select(Path.GetFileName).OfType<string>(),
        "parity.yaml",
    ]);

    private static string? ValuesPath(string name) => name.StartsWith('(')
        ? null
        : File.Exists(Path.Combine(SegFarmChart.DefaultFolder, "examples", name)) ? Path.Combine(SegFarmChart.DefaultFolder, "examples", name) : SegFarmChart.TestValues(name);

    private async Task<Dictionary<string, List<string>>> UnreadInChartAsync(SegFarmChart? chart, string? valuesFile)
    {
        var manifests = chart is null ? (await fixture.RenderAsync(valuesFile)).Manifests : await chart.RenderAsync(valuesFile is null ? [] : [valuesFile]);
        var secrets = ChartValues.PlaceholderSecrets(manifests);
        var unread = new Dictionary<string, List<string>>();
        foreach (var component in new[] { "coordinator", "worker" })
        {
            var deployment = manifests.Component("Deployment", component);
            var cpu = ((string)PodEnvironment.Container(deployment)["image"]!).EndsWith("-cpu", StringComparison.Ordinal);
            var env = PodEnvironment.Resolve(deployment, manifests, ImageEnvironment(component, cpu), secrets,
                new Dictionary<string, string> { ["metadata.name"] = "pod" });
            unread[component] = Keys(component).Unread(env.Keys);
        }
        return unread;
    }

    [Theory]
    [MemberData(nameof(ChartValuesFiles))]
    public async Task Every_variable_the_chart_and_the_images_set_is_read_by_its_program(string values)
    {
        var unread = await UnreadInChartAsync(null, ValuesPath(values));
        Assert.True(unread.All(p => p.Value.Count == 0), "set but never read: " + string.Join("; ", unread.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
    }

    [Theory]
    [InlineData("coordinator", "coordinator")]
    [InlineData("worker", "worker")]
    [InlineData("worker-cpu", "worker")]
    public async Task Every_variable_the_compose_file_and_the_images_set_is_read_by_its_program(string service, string component)
    {
        using var env = UserEnvFile();
        var resolved = await new ComposeProject(fixture.Tools).ResolveAsync(env.Path);
        var names = ImageEnvironment(component, cpu: service.EndsWith("cpu", StringComparison.Ordinal)).Keys.Concat(ComposeProject.Environment(resolved, service).Keys);
        Assert.Empty(Keys(component).Unread(names));
    }

    [Fact]
    public async Task The_check_names_the_misspelt_and_misplaced_settings_of_a_values_file()
    {
        var unread = await UnreadInChartAsync(null, SegFarmChart.TestValues("misspelt-settings.yaml"));
        Assert.Equal(["Coordinator__MaxInFlihgt", "Worker__DrainTimeoutSeconds"], unread["coordinator"]);
        Assert.Equal(["Worker__DrainTimeoutSecond"], unread["worker"]);
    }

    [Fact]
    public async Task A_setting_misspelt_in_a_chart_template_is_caught()
    {
        var copy = Directory.CreateTempSubdirectory("seg-deploy-chart-").FullName;
        try
        {
            CopyFolder(SegFarmChart.DefaultFolder, copy);
            var configMap = Path.Combine(copy, "templates", "configmap.yaml");
            await File.WriteAllTextAsync(configMap, (await File.ReadAllTextAsync(configMap)).Replace("Worker__QueueName:", "Worker__QueueNmae:", StringComparison.Ordinal));
            var unread = await UnreadInChartAsync(new SegFarmChart(fixture.Tools, copy), null);
            Assert.Equal(["Worker__QueueNmae"], unread["worker"]);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task A_setting_misspelt_in_the_compose_file_is_caught()
    {
        var folder = Directory.CreateTempSubdirectory("seg-deploy-compose-").FullName;
        using var env = UserEnvFile();
        try
        {
            var file = Path.Combine(folder, "docker-compose.yml");
            await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(ComposeProject.DefaultFile)).Replace("Coordinator__MaxInFlight:", "Coordinator__MaxInFligth:", StringComparison.Ordinal));
            var resolved = await new ComposeProject(fixture.Tools, file).ResolveAsync(env.Path);
            Assert.Equal(["Coordinator__MaxInFligth"], Keys("coordinator").Unread(ComposeProject.Environment(resolved, "coordinator").Keys));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_derived_keys_follow_the_options_classes()
    {
        var coordinator = Keys("coordinator");
        Assert.True(coordinator.Reads("Coordinator__SweepLimits__MaxTasksPerSweep"), string.Join("\n", coordinator.Describe()));
        Assert.True(coordinator.Reads("Auth__ApiKeys__12__Scopes__3"));
        Assert.True(coordinator.Reads("auth__apikeys__0__keysha256"), "configuration keys are case-insensitive");
        Assert.True(coordinator.Reads("RabbitMq__Password"));
        Assert.True(coordinator.Reads("BlobStorage__ContainerName"));
        Assert.True(coordinator.Reads("ConnectionStrings__Postgres"));
        Assert.True(coordinator.Reads("Logging__LogLevel__Microsoft.AspNetCore"));
        Assert.False(coordinator.Reads("Worker__QueueName"), "the coordinator has no Worker section");
        Assert.False(coordinator.Reads("Auth__ApiKeys__x__Name"), "a list index is a number");
        Assert.False(coordinator.Reads("Auth__ResolvedAnonymousScopes__0"), "computed properties are no settings");

        var worker = Keys("worker");
        Assert.True(worker.Reads("Worker__Retry__MaxIntervalSeconds"));
        Assert.True(worker.Reads("Worker__Devices__7"));
        Assert.True(worker.Reads("SEG_WORKER_DEVICES"), "the entry point reads it");
        Assert.False(worker.Reads("Worker__SlotCount"));
        Assert.False(worker.Reads("Coordinator__MaxInFlight"));
        Assert.False(worker.Reads("Worker__Devices"), "a list is set by its items");
    }

    /// <summary>.env.example with its secrets filled in.</summary>
    private static TemporaryFile UserEnvFile() =>
        ComposeProject.WriteEnvFile(new Dictionary<string, string> { ["POSTGRES_PASSWORD"] = "p", ["RABBITMQ_PASSWORD"] = "r", ["SEG_API_KEY_SHA256"] = new string('a', 64), ["SEG_METRICS_API_KEY_SHA256"] = new string('b', 64) });

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
