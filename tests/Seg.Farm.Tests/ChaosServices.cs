using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Seg.Farm.Tests;

/// <summary>
/// RabbitMQ, PostgreSQL and Azurite of one chaos scenario, started by <c>infra/dev-services.sh</c> in a run folder of
/// their own, so that the scenario may stop, wipe and restart them without touching the services of other tests. While it
/// lives, the process environment points <see cref="TestServices"/> (and so <see cref="Farm"/>) at them; the farm tests
/// run one at a time (AssemblyInfo), so nothing else reads it meanwhile. Ports: <c>SEG_CHAOS_RABBITMQ_PORT</c>,
/// <c>SEG_CHAOS_POSTGRES_PORT</c>, <c>SEG_CHAOS_AZURITE_PORT</c> (defaults 5693, 55453, 10021).
/// </summary>
public sealed partial class ChaosServices : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(TestPaths.RepoRoot, "infra", "dev-services.sh");
    private readonly string _runFolder;
    private readonly Dictionary<string, string?> _previous = [];

    private ChaosServices(string name)
    {
        _runFolder = Path.Combine(Path.GetTempPath(), "seg-chaos", name);
    }

    /// <summary>Starts the three services with empty data and points the environment at them.</summary>
    public static async Task<ChaosServices> StartAsync(string name)
    {
        var services = new ChaosServices(name);
        try
        {
            await services.RunScriptAsync("start", "rabbitmq", "postgres", "azurite");
            foreach (Match line in ExportLine().Matches(await File.ReadAllTextAsync(Path.Combine(services._runFolder, "env"))))
            {
                var variable = line.Groups["name"].Value;
                services._previous.TryAdd(variable, Environment.GetEnvironmentVariable(variable));
                Environment.SetEnvironmentVariable(variable, line.Groups["value"].Value);
            }

            return services;
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops one service (<c>rabbitmq</c>, <c>postgres</c>, <c>azurite</c>).</summary>
    public Task StopAsync(string service) => RunScriptAsync("stop", service);

    /// <summary>Starts one service again: on the data it had when <paramref name="keepData"/>, else empty.</summary>
    public Task StartAsync(string service, bool keepData) => keepData ? RunScriptAsync("start", "--keep-data", service) : RunScriptAsync("start", service);

    private async Task RunScriptAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash", [Script, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["SEG_SERVICES_DIR"] = _runFolder,
                ["SEG_RABBITMQ_PORT"] = Port("SEG_CHAOS_RABBITMQ_PORT", 5693),
                ["SEG_POSTGRES_PORT"] = Port("SEG_CHAOS_POSTGRES_PORT", 55453),
                ["SEG_AZURITE_PORT"] = Port("SEG_CHAOS_AZURITE_PORT", 10021),
            },
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev-services.sh {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await error}\n{await output}");
        }

        // This test process's pooled connections point at a server that was stopped (each scenario uses the same port).
        NpgsqlConnection.ClearAllPools();
    }

    private static string Port(string variable, int fallback) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } port ? port : fallback.ToString(CultureInfo.InvariantCulture);

    /// <summary>Stops the services and points the environment back where it was.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunScriptAsync("stop", "rabbitmq", "postgres", "azurite");
        }
        finally
        {
            foreach (var (variable, value) in _previous)
            {
                Environment.SetEnvironmentVariable(variable, value);
            }

            try
            {
                Directory.Delete(_runFolder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    [GeneratedRegex("^export (?<name>[A-Za-z_][A-Za-z0-9_]*)='(?<value>[^']*)'$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();
}
