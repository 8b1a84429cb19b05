using Seg.Coordinator.Apis;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Web;
using Seg.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddSegServiceDefaults("seg-coordinator");
builder.AddCoordinatorServices();
builder.AddCoordinatorWeb();

// Exits non-zero on a fatal error (bad settings, no database or bus within their bounds, a background service that
// threw), so that compose or Kubernetes restarts the coordinator.
return await builder.RunToExitCodeAsync("seg-coordinator", app =>
{
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
    app.MapExportApi();
    app.MapWorkersApi();
    app.MapAdminApi();
    app.MapCoordinatorWeb();
});

/// <summary>The coordinator's entry point (public for the test host).</summary>
public partial class Program;
