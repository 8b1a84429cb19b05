namespace Seg.Testing;

/// <summary>
/// The API keys the tests configure on coordinators (<c>Auth:ApiKeys</c>), one per scope, and the settings that
/// configure them. Test keys only: they guard nothing outside a test's own coordinator.
/// </summary>
public static class TestApiKeys
{
    /// <summary>A key with the <c>admin</c> scope: everything.</summary>
    public const string Admin = "test-admin-key-0123456789";

    /// <summary>A key with only <c>read</c>.</summary>
    public const string Reader = "test-reader-key-0123456789";

    /// <summary>A key with only <c>submit</c>.</summary>
    public const string Submitter = "test-submitter-key-0123456789";

    /// <summary>A key with only <c>operate</c>.</summary>
    public const string Operator = "test-operator-key-0123456789";

    /// <summary>The keys' names, which sweeps record as who submitted them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Names = new Dictionary<string, string>
    {
        [Admin] = "test-admin",
        [Reader] = "test-reader",
        [Submitter] = "test-submitter",
        [Operator] = "test-operator",
    };

    /// <summary>The configuration of the four keys, with <paramref name="separator"/> between sections (<c>:</c> or <c>__</c>).</summary>
    /// <param name="separator">The key separator: <c>:</c> for in-memory configuration, <c>__</c> for environment variables.</param>
    /// <returns>Key to value.</returns>
    public static Dictionary<string, string> Settings(string separator = ":")
    {
        var settings = new Dictionary<string, string>();
        var entries = new (string Key, string Scope)[] { (Admin, "admin"), (Reader, "read"), (Submitter, "submit"), (Operator, "operate") };
        for (var i = 0; i < entries.Length; i++)
        {
            var prefix = string.Join(separator, "Auth", "ApiKeys", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            settings[$"{prefix}{separator}Name"] = Names[entries[i].Key];
            // Half as clear keys, half as SHA-256: both forms are exercised.
            if (i % 2 == 0)
            {
                settings[$"{prefix}{separator}Key"] = entries[i].Key;
            }
            else
            {
                settings[$"{prefix}{separator}KeySha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(entries[i].Key)));
            }

            settings[$"{prefix}{separator}Scopes{separator}0"] = entries[i].Scope;
        }

        return settings;
    }
}
