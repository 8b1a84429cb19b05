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
    public Task Consume(ConsumeContext<WorkerHeartbeat> context) =>
        writer.UpsertAsync(ToRecord(context.Message, time.GetUtcNow()), context.CancellationToken);

    /// <summary>The worker row a heartbeat stands for.</summary>
    /// <param name="heartbeat">The heartbeat.</param>
    /// <param name="receivedAt">When it arrived (the coordinator's clock).</param>
    /// <returns>The row.</returns>
    public static WorkerRecord ToRecord(WorkerHeartbeat heartbeat, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        return new WorkerRecord
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
            LastHeartbeatAt = receivedAt,
        };
    }
}
