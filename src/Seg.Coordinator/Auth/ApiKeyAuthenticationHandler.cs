using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Seg.Coordinator.Auth;

/// <summary>
/// The <c>ApiKey</c> authentication scheme: the key comes as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>,
/// or, from a browser signed in on the web pages, in the <see cref="KeyCookie"/> cookie (HttpOnly, SameSite=Strict).
/// The cookie counts on the pages and on reads only (GET, HEAD): a cookie travels with every request, so an unsafe
/// API call must carry its key in a header, and the pages' own form posts are checked by anti-forgery tokens.
/// No key is anonymous only when <see cref="AuthOptions.AllowAnonymous"/> is on; a wrong key always fails. A request that
/// needs a key and has none (or a wrong one) gets 401 as ProblemDetails with <c>WWW-Authenticate: Bearer</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IOptions<AuthOptions> auth,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The header that may carry the key instead of <c>Authorization</c>.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The cookie the sign-in page stores the key in.</summary>
    public const string KeyCookie = "seg_key";

    /// <summary>The web pages' sign-in path, where a page request without a key is sent.</summary>
    public const string SignInPath = "/signin";

    private const string FailureItem = "seg.auth.failure";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request) ?? CookieKey(Request);
        if (presented is null)
        {
            return Task.FromResult(auth.Value.AllowAnonymous
                ? Success(ApiKeyStore.Principal(AuthOptions.AnonymousName, auth.Value.ResolvedAnonymousScopes, SchemeName))
                : AuthenticateResult.NoResult());
        }

        if (presented.Length == 0)
        {
            return Task.FromResult(Fail("the API key is empty"));
        }

        var principal = keys.Authenticate(presented, SchemeName);
        return Task.FromResult(principal is null ? Fail("the API key is not valid") : Success(principal));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (IsPageRequest(Request))
        {
            // A person at a browser: the sign-in form, then back to the page asked for.
            Response.Redirect($"{Request.PathBase}{SignInPath}?returnUrl={Uri.EscapeDataString(Request.PathBase + Request.Path + Request.QueryString)}");
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"seg\"";
        var detail = Context.Items[FailureItem] as string
            ?? $"this endpoint needs an API key: send 'Authorization: Bearer KEY' or '{ApiKeyHeader}: KEY'";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = StatusCodes.Status401Unauthorized, Title = "Unauthorized", Detail = detail },
        }).ConfigureAwait(false);
    }

    /// <summary>The key of a request, from <c>Authorization: Bearer</c> or <c>X-Api-Key</c>; null when it sends none.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The key ("" for a header without one), or null.</returns>
    public static string? PresentedKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Headers[HeaderNames.Authorization].ToString();
        if (authorization.Length > 0)
        {
            const string Bearer = "Bearer ";
            return authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) ? authorization[Bearer.Length..].Trim() : "";
        }

        return request.Headers.TryGetValue(ApiKeyHeader, out var key) ? key.ToString().Trim() : null;
    }

    /// <summary>The key in the sign-in cookie, for a page or a read; null otherwise (see the class remarks).</summary>
    /// <param name="request">The request.</param>
    /// <returns>The key, or null.</returns>
    public static string? CookieKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Cookies.TryGetValue(KeyCookie, out var key) || string.IsNullOrEmpty(key))
        {
            return null;
        }

        return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || IsPageRequest(request) ? key : null;
    }

    /// <summary>Whether a request is for a web page (not under <c>/api</c>, <c>/openapi</c> or a probe).</summary>
    /// <param name="request">The request.</param>
    /// <returns>True for a page.</returns>
    public static bool IsPageRequest(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = request.Path;
        return !path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            && !path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase)
            && !path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
    }

    private AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }
}
