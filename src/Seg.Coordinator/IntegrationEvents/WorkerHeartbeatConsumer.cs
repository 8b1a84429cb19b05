using System.Text.Json;
using MassTransit;
using Seg.Contracts.Messages;
using Seg.Storage.Entities;
using Seg.Storage.Workers;

namespace Seg.Coordinator.IntegrationEvents;

/// <summary>A worker's heartbeat: upserts its row, stamped with the coordinator's clock so that staleness ignores clock skew.</summary>
/// <param name="writer">Worker row upsert.</param>
/// <param name="time">Clock.</param>
public sealed class WorkerHeartbeatConsumer(WorkerHeartbeatWriter writer, TimeProvider time) : IConsumer<WorkerHeartbeat>
{
    /// <inheritdoc />
    public Task Consume(ConsumeContext<WorkerHeartbeat> context)
    {
        var heartbeat = context.Message;
        return writer.UpsertAsync(new WorkerRecord
        {
            WorkerId = heartbeat.WorkerId,
            Host = heartbeat.Host,
            DevicesJson = JsonSerializer.Serialize(heartbeat.Devices),
            Slots = heartbeat.Slots,
            Busy = heartbeat.BusySlots,
            ModelsCachedJson = JsonSerializer.Serialize(heartbeat.ModelsCached),
            TasksDone = heartbeat.TasksDone,
            ImagesPerMinute = heartbeat.ThroughputPerMinute,
            Version = heartbeat.Version,
            LastHeartbeatAt = time.GetUtcNow(),
        }, context.CancellationToken);
    }
}
