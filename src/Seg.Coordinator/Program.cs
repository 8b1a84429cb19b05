using Microsoft.Extensions.Options;
using Seg.Coordinator.Apis;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Extensions;
using Seg.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddSegServiceDefaults("seg-coordinator");
builder.AddCoordinatorServices();

try
{
    await using var app = builder.Build();

    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseCoordinatorAuth();

    app.MapSegHealthEndpoints();
    // Behind the read scope like every other read: the metrics name models and workers. Prometheus sends the key as a
    // bearer token (infra/prometheus/prometheus.yml).
    app.MapSegMetricsEndpoint(metrics => metrics.RequireScope(ApiScopes.Read));
    app.MapOpenApi().RequireScope(ApiScopes.Read);
    app.MapSweepsApi();
    app.MapImagesApi();
    app.MapWorkersApi();

    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    // Bad settings (no API key, a wrong value): one clear line per rule; a non-zero exit so that the orchestrator says so.
    await Console.Error.WriteLineAsync($"seg-coordinator: {string.Join("; ", e.Failures)}");
    return 1;
}

/// <summary>The coordinator's entry point (public for the test host).</summary>
public partial class Program;
