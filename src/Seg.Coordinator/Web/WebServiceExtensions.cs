using Microsoft.Extensions.DependencyInjection.Extensions;
using Seg.Coordinator.Apis;
using Seg.Coordinator.Auth;
using Seg.Coordinator.Images;
using Seg.Coordinator.Monitoring;
using Seg.Coordinator.Sweeps;
using Seg.Coordinator.Workers;

namespace Seg.Coordinator.Web;

/// <summary>
/// The coordinator's web pages: sweeps, a sweep, its grid, an image, the workers.
/// <para>
/// Razor Pages, rendered on the server, with a few lines of plain JavaScript (progress polling, the compare slider).
/// Why: they ship with ASP.NET Core (no package, no Node step, no CDN at run time), each page is one HTML answer that
/// works without scripts and is easy to test in a browser, forms get anti-forgery tokens by default, and the pages call
/// the same query classes as the API. A Blazor or single-page app would add a component runtime or a JavaScript build
/// for pages that are mostly tables and images.
/// </para>
/// </summary>
public static class WebServiceExtensions
{
    /// <summary>The anti-forgery cookie's name.</summary>
    public const string AntiforgeryCookie = "seg_af";

    /// <summary>Registers the pages (every page needs <c>read</c>; sign-in is open), <see cref="WebOptions"/> and the page services.</summary>
    /// <param name="builder">The host builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorWeb(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<WebOptions>()
            .Bind(builder.Configuration.GetSection(WebOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddRazorPages(options =>
            {
                options.Conventions.AuthorizeFolder("/", ApiScopes.Policy(ApiScopes.Read));
                options.Conventions.AllowAnonymousToPage("/SignIn");
            })
            // The pages live in this assembly; a host of its own (seg serve) finds them here too.
            .AddApplicationPart(typeof(WebServiceExtensions).Assembly);
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = AntiforgeryCookie;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.TryAddScoped<WebQueries>();
        services.TryAddScoped<Thumbnails>();
        services.TryAddScoped<ContactSheet>();
        return builder;
    }

    /// <summary>
    /// What the pages read, without the coordinator's dispatcher, consumers or migrations: for a host that only shows a
    /// database (<c>seg serve</c>). <see cref="CoordinatorOptions"/> from <paramref name="configuration"/>, the clock, and
    /// the sweep, image, worker and stuck-task queries.
    /// </summary>
    /// <param name="services">Service collection (storage registered by the caller).</param>
    /// <param name="configuration">Configuration with an optional <c>Coordinator</c> section.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddCoordinatorReads(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CoordinatorOptions>().Bind(configuration.GetSection(CoordinatorOptions.Section)).ValidateDataAnnotations();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddScoped<SweepQueries>();
        services.TryAddScoped<ImageQueries>();
        services.TryAddScoped<WorkerQueries>();
        services.TryAddScoped<StuckTaskQuery>();
        return services;
    }

    /// <summary>The read endpoints the pages link to (sweeps, images, workers) and the pages, for a read-only host.</summary>
    /// <param name="app">The app.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static WebApplication MapReadOnlyCoordinatorWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapSweepReadApi();
        app.MapImagesApi();
        app.MapWorkersApi();
        return app.MapCoordinatorWeb();
    }

    /// <summary>Maps the pages and the picture endpoints (<see cref="GridApi"/>).</summary>
    /// <param name="app">The app.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static WebApplication MapCoordinatorWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapRazorPages();
        app.MapGridApi();
        return app;
    }
}
