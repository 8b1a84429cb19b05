using Seg.Storage.Health;

namespace Seg.Worker;

/// <summary>
/// The worker's HTTP listener: only probes and metrics, no API. It listens where ASP.NET Core is told to
/// (<c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, <c>--urls</c>; the container images set port 8080), and on
/// <see cref="DefaultUrl"/> when nothing is set, so that a worker started by hand beside a coordinator (which takes
/// ASP.NET's default port 5000) does not collide with it.
/// </summary>
public static class WorkerHttpListener
{
    /// <summary>Where the worker listens when no URL or port is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8081";

    /// <summary>Configures Kestrel's address and registers the storage readiness checks (the bus adds its own).</summary>
    /// <param name="builder">The worker's web application builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static WebApplicationBuilder AddWorkerHttpListener(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        if (string.IsNullOrWhiteSpace(configuration["urls"])
            && string.IsNullOrWhiteSpace(configuration["http_ports"])
            && string.IsNullOrWhiteSpace(configuration["https_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddHealthChecks().AddSegStorageChecks();
        return builder;
    }
}
