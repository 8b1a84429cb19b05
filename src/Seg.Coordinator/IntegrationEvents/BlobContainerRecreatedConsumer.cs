using MassTransit;
using Seg.Contracts.Messages;
using Seg.Coordinator.Audit;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>A worker created the image container again: the images stored before are gone, so ask for a blob audit.</summary>
/// <param name="audits">Runs the audit (requests coalesce).</param>
public sealed class BlobContainerRecreatedConsumer(BlobAuditService audits) : IConsumer<BlobContainerRecreated>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<BlobContainerRecreated> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.Message;
        audits.Request($"worker {message.WorkerId} created the container {message.ContainerName} again at {message.Timestamp:O}");
        return Task.CompletedTask;
    }
}
