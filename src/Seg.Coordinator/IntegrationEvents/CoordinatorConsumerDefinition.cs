using MassTransit;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>
/// Puts the coordinator's retry (<see cref="CoordinatorOptions.Retry"/>) on the endpoint of one coordinator consumer
/// (not on the whole bus, which in the standalone mode also carries the worker's consumer and its own retries). An
/// <see cref="ArgumentException"/> (a malformed message, which will not get better) is not retried.
/// </summary>
/// <typeparam name="TConsumer">The consumer.</typeparam>
/// <param name="options">The coordinator's options.</param>
internal sealed class CoordinatorConsumerDefinition<TConsumer>(IOptions<CoordinatorOptions> options) : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    /// <inheritdoc />
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseSegRetry(options.Value.Retry, retry => retry.Ignore<ArgumentException>());
}
