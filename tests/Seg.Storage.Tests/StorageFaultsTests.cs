using System.Net.Sockets;
using Azure;
using Npgsql;
using Seg.Storage.Faults;

namespace Seg.Storage.Tests;

public class StorageFaultsTests
{
    public static TheoryData<string, Exception, bool> Faults => new()
    {
        { "PostgreSQL shutting down (57P01)", new PostgresException("terminating connection", "FATAL", "FATAL", "57P01"), true },
        { "PostgreSQL starting up (57P03)", new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03"), true },
        { "connection refused", new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "a unique violation (23505)", new PostgresException("duplicate key", "ERROR", "ERROR", "23505"), false },
        { "a NUL in text (22P05)", new PostgresException("unsupported Unicode escape", "ERROR", "ERROR", "22P05"), false },
        { "blob store unreachable", new RequestFailedException(0, "no response"), true },
        { "blob store busy", new RequestFailedException(503, "Server Busy"), true },
        { "container recreated empty", new RequestFailedException(404, "gone", "ContainerNotFound", null), true },
        { "blob not found", new RequestFailedException(404, "gone", "BlobNotFound", null), false },
        { "bad request", new RequestFailedException(400, "bad", "InvalidHeaderValue", null), false },
        { "wrapped in EF's exception", new InvalidOperationException("transient failure", new TimeoutException()), true },
        { "inside an aggregate", new AggregateException(new ArgumentException("x"), new HttpRequestException("reset")), true },
        { "a bug", new InvalidOperationException("blob 'x' kept changing"), false },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Storage_classifies_its_drivers_faults(string what, Exception fault, bool transient)
    {
        Assert.True(StorageFaults.IsTransient(fault) == transient, $"{what}: expected transient = {transient}");
    }
}
