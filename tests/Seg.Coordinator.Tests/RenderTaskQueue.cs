using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Seg.Contracts.Messages;

namespace Seg.Coordinator.Tests;

/// <summary>A RenderTask message as a worker receives it: the MassTransit envelope and the message inside.</summary>
public sealed record ReceivedRenderTask(RenderTask Message, IReadOnlyList<string> MessageTypes, JsonElement Envelope);

/// <summary>
/// Plays the worker's side of the queue with the plain RabbitMQ client: reads what the dispatcher sent, in order, so
/// the tests check the wire contract (queue, envelope, message type, JSON) and not just our own types.
/// </summary>
public sealed class RenderTaskQueue : IAsyncDisposable
{
    private static readonly JsonSerializerOptions MassTransitJson = new(JsonSerializerDefaults.Web);

    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private RenderTaskQueue(string name, IConnection connection, IChannel channel)
    {
        Name = name;
        _connection = connection;
        _channel = channel;
    }

    public string Name { get; }

    /// <summary>Connects and declares the queue as MassTransit does (durable, not exclusive, not auto-deleted).</summary>
    public static async Task<RenderTaskQueue> CreateAsync(string name)
    {
        var factory = new ConnectionFactory
        {
            HostName = TestServices.RabbitHost,
            Port = TestServices.RabbitPort,
            UserName = TestServices.RabbitUser,
            Password = TestServices.RabbitPassword,
        };
        IConnection connection;
        try
        {
            connection = await factory.CreateConnectionAsync();
        }
        catch (BrokerUnreachableException e)
        {
            throw new InvalidOperationException(
                $"RabbitMQ is not reachable at {TestServices.RabbitHost}:{TestServices.RabbitPort} (RabbitMq__Host, RabbitMq__Port). " +
                $"Start it with infra/dev-services.sh (DESIGN.md section 6). Error: {e.Message}", e);
        }

        var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false);
        return new RenderTaskQueue(name, connection, channel);
    }

    /// <summary>Takes exactly <paramref name="count"/> messages, waiting for them; fails when fewer arrive in time.</summary>
    public async Task<IReadOnlyList<ReceivedRenderTask>> TakeAsync(int count, TimeSpan? timeout = null)
    {
        var taken = new List<ReceivedRenderTask>();
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        while (taken.Count < count)
        {
            var result = await _channel.BasicGetAsync(Name, autoAck: true);
            if (result is null)
            {
                Assert.True(clock.Elapsed < limit, $"expected {count} render task messages on '{Name}' within {limit.TotalSeconds} s, got {taken.Count}");
                await Task.Delay(50);
                continue;
            }

            using var envelope = JsonDocument.Parse(result.Body);
            var root = envelope.RootElement.Clone();
            var types = root.GetProperty("messageType").EnumerateArray().Select(t => t.GetString()!).ToList();
            var message = root.GetProperty("message").Deserialize<RenderTask>(MassTransitJson)!;
            // The dispatcher correlates every message with its task.
            Assert.Equal(message.TaskId.ToString(), root.GetProperty("correlationId").GetString());
            taken.Add(new ReceivedRenderTask(message, types, root));
        }

        return taken;
    }

    /// <summary>Fails if a message is waiting now, or arrives within <paramref name="wait"/>.</summary>
    public async Task AssertEmptyAsync(TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            var state = await _channel.QueueDeclarePassiveAsync(Name);
            if (state.MessageCount > 0)
            {
                var unexpected = await TakeAsync((int)state.MessageCount);
                Assert.Fail($"expected no render task on '{Name}', found {unexpected.Count}: " +
                    string.Join(", ", unexpected.Select(m => $"sweep {m.Message.SweepId} task {m.Message.TaskIndex}")));
            }

            await Task.Delay(100);
        }
        while (clock.Elapsed < wait);
    }

    /// <summary>Drops every message waiting on the queue.</summary>
    public async Task PurgeAsync() => await _channel.QueuePurgeAsync(Name);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.QueueDeleteAsync(Name);
            await _channel.ExchangeDeleteAsync(Name);
        }
        catch (OperationInterruptedException)
        {
            // Already gone.
        }

        await _channel.CloseAsync();
        await _connection.CloseAsync();
        _channel.Dispose();
        _connection.Dispose();
    }
}
