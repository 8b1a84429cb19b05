using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Seg.Coordinator.Auth;

/// <summary>
/// API keys and their scopes, bound from the <c>Auth</c> configuration section (environment variables
/// <c>Auth__ApiKeys__0__Name</c>, <c>Auth__ApiKeys__0__KeySha256</c>, <c>Auth__ApiKeys__0__Scopes__0</c>, ...). The
/// coordinator refuses to start without a key unless <see cref="AllowAnonymous"/> is set.
/// </summary>
public sealed record AuthOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Auth";

    /// <summary>The keys that may call the API.</summary>
    public List<ApiKeyOptions> ApiKeys { get; init; } = [];

    /// <summary>
    /// Requests without a key are let in as <see cref="AnonymousName"/> with <see cref="AnonymousScopes"/>. Off by default:
    /// turn it on only on a machine nobody else can reach. A wrong key is refused either way.
    /// </summary>
    public bool AllowAnonymous { get; init; }

    /// <summary>
    /// What a request without a key may do when <see cref="AllowAnonymous"/> is on; unset: everything
    /// (<see cref="ResolvedAnonymousScopes"/>). No default list here: the configuration binder appends to one.
    /// </summary>
    public List<string>? AnonymousScopes { get; init; }

    /// <summary><see cref="AnonymousScopes"/>, or <c>admin</c> when unset.</summary>
    public IReadOnlyList<string> ResolvedAnonymousScopes => AnonymousScopes ?? [ApiScopes.Admin];

    /// <summary>Most sweep submits one key may make per minute (ASP.NET Core's rate limiter, a sliding window). Default 60.</summary>
    [Range(1, 100_000)]
    public int SubmitsPerMinute { get; init; } = 60;

    /// <summary>The name that requests without a key carry (who submitted a sweep, in logs).</summary>
    public const string AnonymousName = "anonymous";
}

/// <summary>One API key: who holds it, the key itself or its SHA-256, and what it may do.</summary>
public sealed partial record ApiKeyOptions
{
    /// <summary>Shortest accepted key, in characters.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Who holds the key: stored on the sweeps it submits and written in logs (the key never is).</summary>
    public string Name { get; init; } = "";

    /// <summary>The key in clear text. Prefer <see cref="KeySha256"/>, so that the configuration holds no secret.</summary>
    public string? Key { get; init; }

    /// <summary>SHA-256 of the key's UTF-8 bytes, 64 hex digits (<c>printf %s KEY | sha256sum</c>).</summary>
    public string? KeySha256 { get; init; }

    /// <summary>Scopes: <c>read</c>, <c>submit</c>, <c>operate</c>, <c>admin</c>.</summary>
    public List<string> Scopes { get; init; } = [];

    /// <summary>The SHA-256 this key is checked against.</summary>
    internal byte[] Digest() => Key is { Length: > 0 } key
        ? SHA256.HashData(Encoding.UTF8.GetBytes(key))
        : Convert.FromHexString(KeySha256 ?? "");

    /// <summary>Whether <paramref name="name"/> may name a key.</summary>
    internal static bool IsValidName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>Whether <paramref name="text"/> is a SHA-256 in hex.</summary>
    internal static bool IsSha256Hex(string text) => Sha256Pattern().IsMatch(text);

    [GeneratedRegex("^[0-9A-Fa-f]{64}$")]
    private static partial Regex Sha256Pattern();
}
