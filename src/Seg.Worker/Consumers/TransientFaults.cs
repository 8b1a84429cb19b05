using MassTransit;
using RabbitMQ.Client.Exceptions;
using Seg.Storage.Faults;

namespace Seg.Worker.Consumers;

/// <summary>
/// The faults worth retrying: the database or the blob store (as <see cref="StorageFaults"/> classifies them) or the
/// broker was briefly unavailable. Everything else either fails the task permanently (bad model, invalid parameters) or
/// faults the message at once.
/// </summary>
public static class TransientFaults
{
    /// <summary>Whether <paramref name="exception"/> (or an exception it wraps) is a transient fault.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>True for transient faults.</returns>
    public static bool IsTransient(Exception exception) =>
        StorageFaults.IsTransient(exception) || StorageFaults.Any(exception, IsBrokerFault);

    private static bool IsBrokerFault(Exception e) => e is MassTransit.ConnectionException or TransportUnavailableException
        or OperationInterruptedException or BrokerUnreachableException or ConnectFailureException;
}
