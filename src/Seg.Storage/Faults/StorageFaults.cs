using System.Net.Sockets;
using Azure;
using Npgsql;
using Seg.Storage.Blobs;

namespace Seg.Storage.Faults;

/// <summary>
/// Which faults of the storage (PostgreSQL, the blob store) are transient: the service was briefly unreachable,
/// restarting or overloaded, so the same call may succeed later. Storage owns the knowledge of its drivers' exception
/// types (Npgsql, Azure); the worker and the coordinator ask here instead of knowing them.
/// </summary>
public static class StorageFaults
{
    /// <summary>Whether <paramref name="exception"/> (or an exception it wraps) is a transient storage fault.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>True for transient faults.</returns>
    public static bool IsTransient(Exception exception) => Any(exception, IsTransientItself);

    /// <summary>Whether <paramref name="exception"/>, or any exception it wraps, keeps <paramref name="test"/>.</summary>
    /// <param name="exception">The exception.</param>
    /// <param name="test">The test of one exception (not of what it wraps).</param>
    /// <returns>True when one in the chain (aggregates included) keeps it.</returns>
    public static bool Any(Exception exception, Func<Exception, bool> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(inner => Any(inner, test));
            }

            if (test(e))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsTransientItself(Exception e) => e switch
    {
        // Server going away mid-command: admin shutdown (57P01), crash shutdown (57P02), cannot connect now (57P03),
        // connection exceptions (08xxx), insufficient resources (53xxx). Npgsql's IsTransient misses some of these.
        PostgresException postgres => postgres.IsTransient || postgres.SqlState.StartsWith("57P0", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState.StartsWith("53", StringComparison.Ordinal),
        // Npgsql knows which socket errors and SQL states are worth retrying (e.g. 53300 too many connections).
        NpgsqlException npgsql => npgsql.IsTransient,
        // Status 0: no response at all (connection refused or reset). 404 ContainerNotFound: a recreated (empty) blob
        // store, which the blob store heals by creating the container again.
        RequestFailedException azure => azure.Status is 0 or 408 or 429 or >= 500 || IsContainerNotFound(azure),
        BlobStoreUnavailableException or TimeoutException or SocketException or HttpRequestException => true,
        _ => false,
    };

    /// <summary>Whether the blob store answered that the container does not exist (it was deleted or the store restarted empty).</summary>
    /// <param name="e">The blob store's answer.</param>
    /// <returns>True for 404 ContainerNotFound.</returns>
    public static bool IsContainerNotFound(RequestFailedException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Status == 404 && e.ErrorCode == "ContainerNotFound";
    }
}
