using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Seg.Coordinator.Auth;

/// <summary>Requires an API key with <see cref="Scope"/>, or <see cref="ApiScopes.Admin"/>.</summary>
/// <param name="Scope">One of <see cref="ApiScopes.All"/>.</param>
public sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

/// <summary>Grants a <see cref="ScopeRequirement"/> to a principal that carries the scope or <c>admin</c>.</summary>
public sealed class ScopeRequirementHandler : AuthorizationHandler<ScopeRequirement>
{
    /// <inheritdoc />
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        if (context.User.HasClaim(ApiScopes.ClaimType, requirement.Scope) || context.User.HasClaim(ApiScopes.ClaimType, ApiScopes.Admin))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Answers a key that lacks a scope with 403 as ProblemDetails naming the key and the scope it lacks; everything else
/// as ASP.NET Core does (a missing or wrong key gets the scheme's 401).
/// </summary>
/// <param name="problems">Writes ProblemDetails.</param>
public sealed class ScopeForbiddenResultHandler(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    /// <inheritdoc />
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (!authorizeResult.Forbidden)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);
            return;
        }

        var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().Select(r => r.Scope).ToList() ?? [];
        var who = context.User.Identity?.Name ?? "this key";
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = missing.Count > 0
                    ? $"the API key '{who}' lacks the scope '{string.Join("', '", missing)}' that this endpoint needs"
                    : $"the API key '{who}' may not use this endpoint",
            },
        }).ConfigureAwait(false);
    }
}
