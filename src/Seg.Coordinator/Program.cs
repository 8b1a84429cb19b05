using Microsoft.Extensions.Options;
using Seg.Coordinator.Apis;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Web;
using Seg.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddSegServiceDefaults("seg-coordinator");
builder.AddCoordinatorServices();
builder.AddCoordinatorWeb();

try
{
    await using var app = builder.Build();

    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseCoordinatorAuth();

    app.MapSegHealthEndpoints();
    app.MapOpenApi().RequireScope(ApiScopes.Read);
    app.MapSweepsApi();
    app.MapImagesApi();
    app.MapWorkersApi();
    app.MapCoordinatorWeb();

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
