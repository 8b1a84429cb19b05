using MassTransit;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;

namespace Seg.Worker.Consumers;

/// <summary>
/// The <c>render-tasks</c> endpoint: as many messages at once as the worker has render slots, a prefetch of the same
/// size (so no task waits in a busy worker while another is idle, and KEDA sees the backlog), and exponential
/// retries of transient faults only.
/// </summary>
public sealed class RenderTaskConsumerDefinition : ConsumerDefinition<RenderTaskConsumer>
{
    private readonly WorkerOptions _options;

    /// <summary>Creates the definition from the worker options.</summary>
    /// <param name="options">Worker options.</param>
    public RenderTaskConsumerDefinition(IOptions<WorkerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var slots = Math.Max(1, _options.SlotCount);
        EndpointName = _options.QueueName;
        ConcurrentMessageLimit = slots;
        Endpoint(endpoint => endpoint.PrefetchCount = slots);
    }

    /// <inheritdoc />
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RenderTaskConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseSegRetry(_options.Retry, retry => retry.Handle<Exception>(TransientFaults.IsTransient));
    }
}
