namespace Seg.Coordinator.Auth;

/// <summary>
/// What an API key may do. Every endpoint but <c>/healthz</c> and <c>/readyz</c> requires one of them; <see cref="Admin"/>
/// includes all the others.
/// </summary>
public static class ApiScopes
{
    /// <summary>Read sweeps, images, workers and the OpenAPI document.</summary>
    public const string Read = "read";

    /// <summary>Submit sweeps.</summary>
    public const string Submit = "submit";

    /// <summary>Pause, resume, cancel and requeue sweeps.</summary>
    public const string Operate = "operate";

    /// <summary>Everything, including what the other scopes allow.</summary>
    public const string Admin = "admin";

    /// <summary>Every scope, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [Read, Submit, Operate, Admin];

    /// <summary>The claim type that carries a key's scopes.</summary>
    public const string ClaimType = "seg_scope";

    /// <summary>The authorization policy that requires <paramref name="scope"/> (or <see cref="Admin"/>).</summary>
    /// <param name="scope">One of <see cref="All"/>.</param>
    /// <returns>The policy name.</returns>
    public static string Policy(string scope) => $"scope:{scope}";
}
