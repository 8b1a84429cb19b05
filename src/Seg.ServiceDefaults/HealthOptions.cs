using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Seg.ServiceDefaults;

/// <summary>
/// Readiness settings, bound from the <c>Health</c> section (<c>Health__ReadyCheckTimeoutSeconds</c>), checked at start.
/// </summary>
public sealed record HealthOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Health";

    /// <summary>The tag of every readiness check (<c>/readyz</c> runs the checks that carry it; MassTransit's bus check has it too).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Longest one readiness check may take, in seconds (default 5): a dependency that accepts connections but never
    /// answers makes its check unhealthy (its description says the timeout ran out) and <c>/readyz</c> answer 503 naming
    /// it, instead of keeping the probe waiting. Keep it below the probe's own timeout.
    /// </summary>
    [Range(0.1, 600, ErrorMessage = "Health:ReadyCheckTimeoutSeconds must be between {1} and {2} seconds")]
    public double ReadyCheckTimeoutSeconds { get; init; } = 5;
}

/// <summary>Registers <see cref="HealthOptions"/> and applies its timeout to the readiness checks.</summary>
public static class HealthOptionsExtensions
{
    /// <summary>
    /// Binds <see cref="HealthOptions"/> and gives every check tagged <see cref="HealthOptions.ReadyTag"/> that has no
    /// timeout of its own <see cref="HealthOptions.ReadyCheckTimeoutSeconds"/>: the database, the blob store and the
    /// broker (whose registration MassTransit makes), whoever registers them and in whichever order (a post-configure
    /// step sees every registration). <c>AddSegServiceDefaults</c> calls it.
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Application configuration.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddSegReadinessTimeouts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HealthOptions>().Bind(configuration.GetSection(HealthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HealthCheckServiceOptions>().PostConfigure<IOptions<HealthOptions>>((checks, health) =>
        {
            var timeout = TimeSpan.FromSeconds(health.Value.ReadyCheckTimeoutSeconds);
            foreach (var registration in checks.Registrations.Where(r => r.Tags.Contains(HealthOptions.ReadyTag) && r.Timeout == Timeout.InfiniteTimeSpan))
            {
                registration.Timeout = timeout;
            }
        });
        return services;
    }
}
