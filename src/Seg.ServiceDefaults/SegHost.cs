using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Seg.ServiceDefaults;

/// <summary>
/// Runs a service (coordinator or worker) to its end and turns how it ended into the process exit code: 0 after a
/// requested stop, 1 after a fatal error, so that compose and Kubernetes restart the process. Fatal: a start that
/// fails (bad settings, the database or the bus unreachable past their bounds) and a background service that ends in
/// an exception (the host stops then, but .NET 10 still returns normally from <c>RunAsync</c>, which would exit 0).
/// </summary>
public static partial class SegHost
{
    /// <summary>The exit code after a fatal error.</summary>
    public const int FatalExitCode = 1;

    /// <summary>Builds the application, maps its endpoints, runs it until it stops; returns the process exit code.</summary>
    /// <param name="builder">The configured builder.</param>
    /// <param name="serviceName">The name in the one-line error on stderr (<c>seg-worker</c>).</param>
    /// <param name="map">Adds the middleware and endpoints to the built application.</param>
    /// <returns>0 after a requested stop, <see cref="FatalExitCode"/> after a fatal error.</returns>
    public static async Task<int> RunToExitCodeAsync(this WebApplicationBuilder builder, string serviceName, Action<WebApplication> map)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(map);
        List<BackgroundService> background;
        try
        {
            await using var app = builder.Build();
            map(app);
            // Resolved before the run: the host disposes its services when RunAsync returns.
            background = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SegHost).FullName!);
            try
            {
                await app.RunAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OptionsValidationException))
            {
                LogFatalStop(logger, e, serviceName);
                throw;
            }
        }
        catch (OptionsValidationException e)
        {
            // Bad settings (no API key, a wrong value): one clear line per rule.
            await Console.Error.WriteLineAsync($"{serviceName}: {string.Join("; ", e.Failures)}").ConfigureAwait(false);
            return FatalExitCode;
        }
        catch (Exception e) when (e is not (OutOfMemoryException or HostAbortedException))
        {
            // HostAbortedException is how a test host (WebApplicationFactory) takes the built app: not an error.
            await Console.Error.WriteLineAsync($"{serviceName}: {e.Message}").ConfigureAwait(false);
            return FatalExitCode;
        }

        var faulted = background
            .Where(service => service.ExecuteTask is { IsFaulted: true })
            .Select(service => $"{service.GetType().Name}: {service.ExecuteTask!.Exception!.GetBaseException().Message}")
            .ToList();
        if (faulted.Count == 0)
        {
            return 0;
        }

        await Console.Error.WriteLineAsync($"{serviceName}: fatal: {string.Join("; ", faulted)}").ConfigureAwait(false);
        return FatalExitCode;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Service} stopped on a fatal error")]
    private static partial void LogFatalStop(ILogger logger, Exception exception, string service);
}
