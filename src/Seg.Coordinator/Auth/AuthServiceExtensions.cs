using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Seg.Coordinator.Auth;

/// <summary>
/// API keys for the coordinator's HTTP API: the <see cref="ApiKeyAuthenticationHandler"/> scheme, one policy per scope
/// (<see cref="ApiScopes.Policy"/>), a fallback policy that requires a key on every endpoint not marked otherwise (so a
/// new endpoint cannot be left open by mistake), 401/403 as ProblemDetails, and the per-key submit rate limit.
/// </summary>
public static partial class AuthServiceExtensions
{
    /// <summary>The rate-limiter policy on sweep submits: <see cref="AuthOptions.SubmitsPerMinute"/> per key.</summary>
    public const string SubmitRateLimit = "submit-per-key";

    /// <summary>Registers <see cref="AuthOptions"/> (section <c>Auth</c>, checked at start), authentication, authorization and rate limiting.</summary>
    /// <param name="builder">The coordinator's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHostApplicationBuilder AddCoordinatorAuth(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AuthOptions>()
            .Bind(builder.Configuration.GetSection(AuthOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<ApiKeyStore>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ScopeForbiddenResultHandler>();
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build())
            .AddScopePolicies();

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(SubmitRateLimit, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.SubmitsPerMinute;
                return RateLimitPartition.GetSlidingWindowLimiter(context.User.Identity?.Name ?? AuthOptions.AnonymousName, _ => new SlidingWindowRateLimiterOptions
                {
                    PermitLimit = perMinute,
                    Window = TimeSpan.FromMinutes(1),
                    SegmentsPerWindow = 6,
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var context = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(10);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
                var perMinute = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.SubmitsPerMinute;
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many submits",
                        Detail = $"the API key '{context.User.Identity?.Name}' may submit {perMinute} sweeps a minute (Auth:SubmitsPerMinute); retry after {seconds} s",
                    },
                }).ConfigureAwait(false);
            };
        });
        return builder;
    }

    /// <summary>Authentication, a log scope with the caller's key name, authorization and rate limiting, in that order.</summary>
    /// <param name="app">The coordinator's app.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static WebApplication UseCoordinatorAuth(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.Use(async (context, next) =>
        {
            // Every log line of the request says whose key made it (never the key).
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Seg.Coordinator.Requests");
            using (logger.BeginScope(new Dictionary<string, object?> { ["ApiKey"] = context.User.Identity?.Name }))
            {
                await next(context).ConfigureAwait(false);
            }
        });
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Requires a key with <paramref name="scope"/> (or <c>admin</c>) on an endpoint or group.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="scope">One of <see cref="ApiScopes.All"/>.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(ApiScopes.Policy(scope));

    private static AuthorizationBuilder AddScopePolicies(this AuthorizationBuilder authorization)
    {
        foreach (var scope in ApiScopes.All)
        {
            authorization.AddPolicy(ApiScopes.Policy(scope), policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(scope)));
        }

        return authorization;
    }
}
