using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Worker;

// The GPU worker: consumes render tasks, one render slot per device, writes blob + provenance, publishes events. A small
// HTTP listener serves /healthz and /readyz (database, broker, blob store) for probes and /metrics for Prometheus.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // appsettings.json next to the binary, whatever the working directory.
    ContentRootPath = AppContext.BaseDirectory,
});

builder.AddSegServiceDefaults("seg-worker");
builder.AddWorkerHttpListener();
builder.Services.AddSegStorage(builder.Configuration);
builder.Services.AddWorkerServices(builder.Configuration);
builder.Services.AddSegMassTransit(builder.Configuration, bus => bus.AddWorkerConsumers());

try
{
    await using var app = builder.Build();
    app.MapSegHealthEndpoints();
    // Open like the probes: the worker holds no API keys, serves nothing else, and its metrics carry no task or user data.
    app.MapSegMetricsEndpoint(metrics => metrics.AllowAnonymous());
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException)
{
    // Bad settings or an unusable device: one clear line (the host has logged the details).
    await Console.Error.WriteLineAsync($"seg-worker: {e.Message}");
    return 1;
}
