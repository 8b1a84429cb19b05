using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Seg.Coordinator.Auth;

/// <summary>
/// The configured API keys, kept as SHA-256 digests. A presented key is hashed and compared with every digest in
/// constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>, no early exit), so neither the comparison
/// nor the number of keys tried tells an attacker how close a guess was.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly (string Name, byte[] Digest, string[] Scopes)[] _keys;

    /// <summary>Creates the store from the validated options.</summary>
    /// <param name="options">Auth options.</param>
    public ApiKeyStore(IOptions<AuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _keys = [.. options.Value.ApiKeys.Select(k => (k.Name, k.Digest(), k.Scopes.Distinct(StringComparer.Ordinal).ToArray()))];
    }

    /// <summary>The holder of <paramref name="key"/> as a principal with its name and scopes, or null for an unknown key.</summary>
    /// <param name="key">The key as the client sent it.</param>
    /// <param name="authenticationType">The authentication scheme, recorded on the identity.</param>
    /// <returns>The principal, or null.</returns>
    public ClaimsPrincipal? Authenticate(string key, string authenticationType)
    {
        ArgumentNullException.ThrowIfNull(key);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var match = -1;
        for (var i = 0; i < _keys.Length; i++)
        {
            // Every entry is compared, whether or not an earlier one matched.
            if (CryptographicOperations.FixedTimeEquals(digest, _keys[i].Digest))
            {
                match = i;
            }
        }

        return match < 0 ? null : Principal(_keys[match].Name, _keys[match].Scopes, authenticationType);
    }

    /// <summary>A principal with a name and scopes (also used for anonymous access).</summary>
    /// <param name="name">The key's name.</param>
    /// <param name="scopes">Its scopes.</param>
    /// <param name="authenticationType">The authentication scheme.</param>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal Principal(string name, IEnumerable<string> scopes, string authenticationType)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        claims.AddRange(scopes.Select(scope => new Claim(ApiScopes.ClaimType, scope)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }
}
