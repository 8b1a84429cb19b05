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

// Exits non-zero on a fatal error (bad settings, an unusable device, no bus within its bound, a background service
// that threw), so that compose or Kubernetes restarts the worker.
return await builder.RunToExitCodeAsync("seg-worker", app =>
{
    app.MapSegHealthEndpoints();
    // Open like the probes: the worker holds no API keys, serves nothing else, and its metrics carry no task or user data.
    app.MapSegMetricsEndpoint(metrics => metrics.AllowAnonymous());
});
