using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>A service as the deployment names it (host and port) and where the test's real one listens.</summary>
public sealed record ServiceAddress(string Name, string Host, int Port, string LoopbackHost, int LoopbackPort);

/// <summary>
/// Turns a deployment's environment into one that runs here, changing only what a cluster or compose network changes:
/// the services' host names and ports become the test's loopback services, the HTTP port a free one, and the paths of
/// mounted volumes folders of the test. Everything else is kept to the letter. It fails when a value still names one
/// of the deployment's hosts afterwards (a form of address it does not know), and reports what it changed.
/// </summary>
public sealed partial class LoopbackServices(IReadOnlyList<ServiceAddress> services)
{
    /// <summary>The test's PostgreSQL, RabbitMQ and Azurite (TestServices) under the names a deployment gives them.</summary>
    public static LoopbackServices ForTestServices(string postgresHost, string rabbitHost, string blobHost, int postgresPort = 5432, int rabbitPort = 5672, int blobPort = 10000)
    {
        var postgres = new NpgsqlConnectionStringBuilder(TestServices.Postgres);
        var blobs = TestServices.Blobs.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
            ? new Uri("http://127.0.0.1:10000/")
            : new Uri(BlobEndpoint().Match(TestServices.Blobs).Groups[1].Value);
        return new LoopbackServices(
        [
            new ServiceAddress("postgres", postgresHost, postgresPort, postgres.Host!, postgres.Port),
            new ServiceAddress("rabbitmq", rabbitHost, rabbitPort, TestServices.RabbitHost, TestServices.RabbitPort),
            new ServiceAddress("blob storage", blobHost, blobPort, blobs.Host, blobs.Port),
        ]);
    }

    public IReadOnlyList<ServiceAddress> Services => services;

    /// <summary>The changed environment.</summary>
    /// <param name="environment">The deployment's environment of one program.</param>
    /// <param name="httpPort">The port the program listens on in the deployment, and the free port it gets here.</param>
    /// <param name="mounts">Mount paths of the container and the folders here that stand for them.</param>
    /// <param name="changes">What was changed, <c>NAME: old -> new</c>.</param>
    public Dictionary<string, string> Map(
        IReadOnlyDictionary<string, string> environment,
        (int Deployed, int Here) httpPort,
        IReadOnlyDictionary<string, string> mounts,
        List<string> changes)
    {
        var mapped = new Dictionary<string, string>();
        foreach (var (name, value) in environment)
        {
            var result = value;
            foreach (var service in services)
            {
                result = MapService(name, result, service);
            }
            if (name is "ASPNETCORE_HTTP_PORTS" && result == httpPort.Deployed.ToString(CultureInfo.InvariantCulture))
            {
                result = httpPort.Here.ToString(CultureInfo.InvariantCulture);
            }
            foreach (var (mountPath, folder) in mounts)
            {
                if (result == mountPath || result.StartsWith(mountPath + "/", StringComparison.Ordinal))
                {
                    result = folder + result[mountPath.Length..];
                }
            }
            foreach (var service in services)
            {
                // As an address: the whole value, Host=H, scheme://H or user@H (a user may share the host's name).
                Assert.False(result == service.Host || Regex.IsMatch(result, $@"(?i)(\bHost=|//|@){Regex.Escape(service.Host)}(?![\w.-])"),
                    $"{name}={value}: still names the {service.Name} host {service.Host} after the mapping; the test does not know this form of address");
            }
            if (result != value)
            {
                changes.Add($"{name}: {value} -> {result}");
            }
            mapped[name] = result;
        }
        return mapped;
    }

    private static string MapService(string name, string value, ServiceAddress service)
    {
        var host = Regex.Escape(service.Host);
        var port = service.Port.ToString(CultureInfo.InvariantCulture);
        var loopbackPort = service.LoopbackPort.ToString(CultureInfo.InvariantCulture);
        if (value == service.Host)
        {
            return service.LoopbackHost;
        }
        if (value == port && (name.EndsWith("__Port", StringComparison.OrdinalIgnoreCase) || name.EndsWith("_PORT", StringComparison.Ordinal)))
        {
            return loopbackPort;
        }
        // Npgsql connection strings (Host=H;Port=P), URLs (scheme://[user@]H:P/).
        value = Regex.Replace(value, $@"(?i)\bHost={host};Port={port}\b", $"Host={service.LoopbackHost};Port={loopbackPort}");
        return Regex.Replace(value, $@"(?<=://([^/@]*@)?){host}:{port}\b", $"{service.LoopbackHost}:{loopbackPort}");
    }

    [GeneratedRegex("BlobEndpoint=([^;]+)")]
    private static partial Regex BlobEndpoint();
}
