using Microsoft.Extensions.Options;

namespace Seg.Coordinator.Auth;

/// <summary>
/// Checks <see cref="AuthOptions"/> at start: at least one key unless anonymous access is on, every key named once,
/// exactly one of <c>Key</c> and <c>KeySha256</c>, no key twice, known scopes. Each error names its configuration key.
/// </summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.ApiKeys.Count == 0 && !options.AllowAnonymous)
        {
            errors.Add("Auth:ApiKeys must list at least one key (Auth__ApiKeys__0__Name, Auth__ApiKeys__0__KeySha256, Auth__ApiKeys__0__Scopes__0); " +
                       "set Auth:AllowAnonymous=true only for a coordinator nobody else can reach");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var digests = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            var prefix = $"Auth:ApiKeys:{i}";
            if (!ApiKeyOptions.IsValidName(key.Name))
            {
                errors.Add($"{prefix}:Name must be 1-64 letters, digits or . _ @ - starting with a letter or digit (got '{key.Name}')");
            }
            else if (!names.Add(key.Name))
            {
                errors.Add($"{prefix}:Name must differ from every other key's name (got '{key.Name}' twice)");
            }

            var hasKey = !string.IsNullOrEmpty(key.Key);
            var hasDigest = !string.IsNullOrEmpty(key.KeySha256);
            if (hasKey == hasDigest)
            {
                errors.Add($"{prefix} must set exactly one of Key and KeySha256");
            }
            else if (hasKey && key.Key!.Length < ApiKeyOptions.MinKeyLength)
            {
                errors.Add($"{prefix}:Key must be at least {ApiKeyOptions.MinKeyLength} characters (got {key.Key.Length})");
            }
            else if (hasDigest && !ApiKeyOptions.IsSha256Hex(key.KeySha256!))
            {
                errors.Add($"{prefix}:KeySha256 must be 64 hex digits, the SHA-256 of the key (got {key.KeySha256!.Length} characters)");
            }
            else if (!digests.Add(Convert.ToHexString(key.Digest())))
            {
                errors.Add($"{prefix} must be a key of its own (another entry has the same key)");
            }

            CheckScopes(errors, $"{prefix}:Scopes", key.Scopes, required: true);
        }

        if (options.AllowAnonymous)
        {
            CheckScopes(errors, "Auth:AnonymousScopes", [.. options.ResolvedAnonymousScopes], required: false);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckScopes(List<string> errors, string field, List<string> scopes, bool required)
    {
        if (required && scopes.Count == 0)
        {
            errors.Add($"{field} must list at least one of {string.Join(", ", ApiScopes.All)}");
        }

        for (var j = 0; j < scopes.Count; j++)
        {
            if (!ApiScopes.All.Contains(scopes[j]))
            {
                errors.Add($"{field}:{j} must be one of {string.Join(", ", ApiScopes.All)} (got '{scopes[j]}')");
            }
        }
    }
}
