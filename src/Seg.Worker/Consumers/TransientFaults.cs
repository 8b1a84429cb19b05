using Azure;
using MassTransit;
using Npgsql;
using RabbitMQ.Client.Exceptions;
using Seg.Worker.Tasks;

namespace Seg.Worker.Consumers;

/// <summary>
/// The faults worth retrying in place: the database, the blob store or the broker was briefly unavailable. Everything
/// else either fails the task permanently (bad model, invalid parameters) or faults the message at once.
/// </summary>
public static class TransientFaults
{
    /// <summary>Whether <paramref name="exception"/> (or an exception it wraps) is a transient fault.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>True for transient faults.</returns>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsTransient);
            }

            if (IsTransientItself(e))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsTransientItself(Exception e) => e switch
    {
        // Npgsql knows which socket errors and SQL states are worth retrying (e.g. 53300 too many connections).
        NpgsqlException npgsql => npgsql.IsTransient,
        // Status 0: no response at all (connection refused or reset).
        RequestFailedException azure => azure.Status is 0 or 408 or 429 or >= 500,
        BlobStoreUnavailableException or TimeoutException => true,
        MassTransit.ConnectionException or TransportUnavailableException => true,
        OperationInterruptedException or BrokerUnreachableException or ConnectFailureException => true,
        _ => false,
    };
}
