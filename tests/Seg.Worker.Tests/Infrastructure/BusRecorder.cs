using System.Collections.Concurrent;
using MassTransit;
using Seg.Contracts.Messages;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>
/// Records, as they happen, the messages a bus publishes and the render tasks its consumer has finished (the
/// harness's own lists wait for the bus to fall idle before they can be counted).
/// </summary>
public sealed class BusRecorder : IPublishObserver, IConsumeMessageObserver<RenderTask>
{
    private readonly ConcurrentQueue<object> _published = new();
    private readonly ConcurrentDictionary<Guid, int> _finished = new();

    public IReadOnlyList<T> Published<T>(Func<T, bool> filter)
        where T : class =>
        _published.OfType<T>().Where(filter).ToList();

    /// <summary>Deliveries of the task that the consumer has finished, successfully or not.</summary>
    public int Finished(Guid taskId) => _finished.GetValueOrDefault(taskId);

    public Task PrePublish<T>(PublishContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class
    {
        _published.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;

    public Task PreConsume(ConsumeContext<RenderTask> context) => Task.CompletedTask;

    public Task PostConsume(ConsumeContext<RenderTask> context)
    {
        _finished.AddOrUpdate(context.Message.TaskId, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public Task ConsumeFault(ConsumeContext<RenderTask> context, Exception exception) => PostConsume(context);
}
