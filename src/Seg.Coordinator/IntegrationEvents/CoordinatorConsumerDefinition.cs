using MassTransit;
using Seg.Coordinator.Extensions;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>
/// Puts <see cref="CoordinatorServiceExtensions.UseCoordinatorRetry"/> on the endpoint of one coordinator consumer
/// (not on the whole bus, which in the standalone mode also carries the worker's consumer and its own retries).
/// </summary>
/// <typeparam name="TConsumer">The consumer.</typeparam>
internal sealed class CoordinatorConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    /// <inheritdoc />
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseCoordinatorRetry();
}
