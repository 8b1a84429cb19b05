using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Seg.Coordinator.Auth;

namespace Seg.Coordinator.Pages;

/// <summary>
/// The sign-in form: a valid API key is stored in the <see cref="ApiKeyAuthenticationHandler.KeyCookie"/> cookie
/// (HttpOnly, SameSite=Strict, Secure on HTTPS), which the same authentication handler reads on the pages. Open to all.
/// </summary>
/// <param name="keys">The configured keys.</param>
public sealed class SignInModel(ApiKeyStore keys) : PageModel
{
    /// <summary>Where to go after signing in (a local path only).</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Why the key was refused.</summary>
    public string? Error { get; private set; }

    /// <summary>Shows the form.</summary>
    public void OnGet()
    {
    }

    /// <summary>Checks the key; stores it in the cookie and goes back, or says it is not valid.</summary>
    /// <param name="key">The key as typed.</param>
    public IActionResult OnPost(string? key)
    {
        key = key?.Trim();
        if (string.IsNullOrEmpty(key) || keys.Authenticate(key, ApiKeyAuthenticationHandler.SchemeName) is null)
        {
            Error = "That API key is not valid on this farm.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        Response.Cookies.Append(ApiKeyAuthenticationHandler.KeyCookie, key, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = Request.IsHttps,
            Path = Request.PathBase.HasValue ? Request.PathBase.Value : "/",
            IsEssential = true,
        });
        // Only a local path: an open redirect would send a fresh session anywhere.
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : Url.Content("~/"));
    }

    /// <summary>Forgets the key.</summary>
    public IActionResult OnPostSignOut()
    {
        Response.Cookies.Delete(ApiKeyAuthenticationHandler.KeyCookie, new CookieOptions { Path = Request.PathBase.HasValue ? Request.PathBase.Value : "/" });
        return LocalRedirect(Url.Content("~/signin"));
    }
}
