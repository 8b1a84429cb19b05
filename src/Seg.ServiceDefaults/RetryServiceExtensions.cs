using MassTransit;

namespace Seg.ServiceDefaults;

/// <summary>Applies <see cref="RetryOptions"/> to MassTransit endpoints.</summary>
public static class RetryServiceExtensions
{
    /// <summary>
    /// Puts an exponential retry of <paramref name="options"/> on an endpoint (or a consumer, or a whole bus), with
    /// <paramref name="filter"/> choosing which exceptions are retried (<c>Handle</c>) or not (<c>Ignore</c>).
    /// </summary>
    /// <param name="configurator">The endpoint, consumer or bus.</param>
    /// <param name="options">The limit and the delays.</param>
    /// <param name="filter">The exceptions to retry or not.</param>
    public static void UseSegRetry(this IConsumePipeConfigurator configurator, RetryOptions options, Action<IRetryConfigurator> filter)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(filter);
        configurator.UseMessageRetry(retry =>
        {
            retry.Exponential(
                options.Limit,
                TimeSpan.FromSeconds(options.MinIntervalSeconds),
                TimeSpan.FromSeconds(options.MaxIntervalSeconds),
                TimeSpan.FromSeconds(options.IntervalDeltaSeconds ?? options.MinIntervalSeconds));
            filter(retry);
        });
    }
}
