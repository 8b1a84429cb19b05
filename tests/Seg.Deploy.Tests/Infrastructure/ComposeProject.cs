using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// docker-compose.yml as Debian's docker-compose 1.29 reads it (`docker-compose config` checks the file and
/// resolves the variables without a Docker engine), with an env file of the test's and nothing from this process's
/// environment.
/// </summary>
public sealed partial class ComposeProject(DeployTools tools, string? composeFile = null)
{
    public static string DefaultFile => Path.Combine(TestPaths.RepoRoot, "docker-compose.yml");

    public static string EnvExample => Path.Combine(TestPaths.RepoRoot, ".env.example");

    public string File { get; } = composeFile ?? DefaultFile;

    /// <summary>The profiles of the compose file's services.</summary>
    public static readonly IReadOnlyList<string> Profiles = ["gpu", "cpu", "observability"];

    /// <summary>NAME=value lines of an env file (comments and blank lines skipped).</summary>
    public static Dictionary<string, string> ReadEnvFile(string file) =>
        System.IO.File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    /// <summary>The variables the compose file reads (<c>${NAME}</c>, <c>${NAME:-default}</c>, <c>${NAME:?error}</c>).</summary>
    public IReadOnlySet<string> Variables() =>
        ComposeVariable().Matches(System.IO.File.ReadAllText(File)).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary><c>.env.example</c> with the values given on top (the secrets it leaves empty, for instance).</summary>
    public static TemporaryFile WriteEnvFile(IReadOnlyDictionary<string, string> overrides)
    {
        var values = ReadEnvFile(EnvExample);
        foreach (var (name, value) in overrides)
        {
            values[name] = value;
        }
        var file = Path.GetTempFileName();
        System.IO.File.WriteAllLines(file, values.Select(p => $"{p.Key}={p.Value}"));
        return new TemporaryFile(file);
    }

    /// <summary><c>docker-compose --env-file FILE [--profile P] config</c>.</summary>
    public Task<ToolResult> ConfigAsync(string envFile, string? profile = null) =>
        ToolRun.RunAsync(tools.DockerCompose,
            ["--file", File, "--env-file", envFile, .. profile is null ? Array.Empty<string>() : ["--profile", profile], "config"],
            workingDirectory: Path.GetDirectoryName(File), inheritEnvironment: false);

    /// <summary>The resolved file (docker-compose config, which must accept it), as JSON.</summary>
    public async Task<JsonObject> ResolveAsync(string envFile, string? profile = null)
    {
        var config = await ConfigAsync(envFile, profile);
        Assert.True(config.Succeeded, config.ToString());
        var file = Path.GetTempFileName();
        try
        {
            await System.IO.File.WriteAllTextAsync(file, config.Stdout);
            var json = await tools.ManifestsAsync("json", file);
            Assert.True(json.Succeeded, json.ToString());
            return JsonNode.Parse(json.Stdout)!.AsArray().Single()!.AsObject();
        }
        finally
        {
            System.IO.File.Delete(file);
        }
    }

    /// <summary>A service's environment in a resolved file.</summary>
    public static Dictionary<string, string> Environment(JsonObject resolved, string service) =>
        Service(resolved, service)["environment"]!.AsObject().ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "");

    public static JsonObject Service(JsonObject resolved, string service) =>
        resolved["services"]?[service]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service {service}");

    /// <summary>The container paths a service mounts (volumes and tmpfs).</summary>
    public static IReadOnlyList<string> MountPaths(JsonObject resolved, string service)
    {
        var definition = Service(resolved, service);
        var volumes = (definition["volumes"]?.AsArray() ?? []).Select(v => v is JsonObject o ? (string)o["target"]! : v!.ToString().Split(':')[1]);
        var tmpfs = (definition["tmpfs"]?.AsArray() ?? []).Select(t => t!.ToString().Split(':')[0]);
        return volumes.Concat(tmpfs).ToList();
    }

    [GeneratedRegex(@"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ComposeVariable();
}
