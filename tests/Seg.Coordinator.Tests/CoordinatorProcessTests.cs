using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Seg.Coordinator.Tests;

/// <summary>The coordinator as a real process exits non-zero on a fatal error, so that its orchestrator restarts it.</summary>
public class CoordinatorProcessTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Seg.Coordinator.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}",
                ["ConnectionStrings__Postgres"] = TestServices.Postgres,
                ["RabbitMq__Host"] = TestServices.RabbitHost,
                ["RabbitMq__Port"] = TestServices.RabbitPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DOTNET_ENVIRONMENT"] = "Production",
            },
        };
        foreach (var (key, value) in TestApiKeys.Settings("__").Concat(settings))
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
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

        return (process.ExitCode, await error + await output);
    }

    [Fact]
    public async Task A_database_unreachable_past_the_start_bound_exits_1()
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Port={FreePort()};Username=postgres;Database=seg;Timeout=2",
            ["Coordinator__DatabaseStartTimeoutSeconds"] = "3",
        });

        Assert.True(exitCode == 1, output);
        Assert.Contains("PostgreSQL is not reachable yet", output, StringComparison.Ordinal);
        Assert.Contains("seg-coordinator: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broker_unreachable_past_the_start_bound_exits_1()
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string>
        {
            ["RabbitMq__Port"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RabbitMq__StartTimeoutSeconds"] = "3",
        });

        Assert.True(exitCode == 1, output);
        Assert.Contains("seg-coordinator: ", output, StringComparison.Ordinal);
    }
}
