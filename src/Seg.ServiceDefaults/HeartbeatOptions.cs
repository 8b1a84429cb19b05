using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Seg.ServiceDefaults;

/// <summary>
/// How often workers send heartbeats, one setting for both sides: the worker beats at this interval and the
/// coordinator calls a worker stale after <see cref="StaleAfterIntervals"/> silent intervals. Bound from the
/// <c>Heartbeat</c> section (<c>Heartbeat__IntervalSeconds</c>), checked at start.
/// </summary>
public sealed record HeartbeatOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Heartbeat";

    /// <summary>Intervals without a heartbeat after which a worker is stale.</summary>
    public const double StaleAfterIntervals = 3;

    /// <summary>Seconds between two heartbeats of a worker. Default 10.</summary>
    [Range(0.01, 3600, ErrorMessage = "Heartbeat:IntervalSeconds must be between {1} and {2} seconds")]
    public double IntervalSeconds { get; init; } = 10;

    /// <summary>The interval.</summary>
    public TimeSpan Interval => TimeSpan.FromSeconds(IntervalSeconds);

    /// <summary>Silence after which a worker is stale.</summary>
    public TimeSpan StaleAfter => TimeSpan.FromSeconds(StaleAfterIntervals * IntervalSeconds);
}

/// <summary>Registers <see cref="HeartbeatOptions"/>.</summary>
public static class HeartbeatServiceExtensions
{
    /// <summary>Binds <see cref="HeartbeatOptions"/> from the <c>Heartbeat</c> section, validated at start. Safe to call twice.</summary>
    /// <param name="services">Service collection.</param>
    /// <param name="configuration">Application configuration.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddSegHeartbeatOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // The standalone run hosts the coordinator and the worker, which both register it.
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<HeartbeatOptions>)))
        {
            return services;
        }

        services.AddOptions<HeartbeatOptions>().Bind(configuration.GetSection(HeartbeatOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }
}
