using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Seg.Coordinator.Auth;

/// <summary>
/// The <c>ApiKey</c> authentication scheme: the key comes as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>.
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

    private const string FailureItem = "seg.auth.failure";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
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

    private AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }
}
