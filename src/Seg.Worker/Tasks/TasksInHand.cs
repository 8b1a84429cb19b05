using System.Collections.Concurrent;

namespace Seg.Worker.Tasks;

/// <summary>
/// The tasks whose message this worker is consuming now, from before it marks one running until its consume returns.
/// A task that the database says runs on this worker but that is not in hand was left behind (see
/// <see cref="LeftBehindTaskRelease"/>).
/// </summary>
public sealed class TasksInHand
{
    // A count per task: two messages of one task (a resend beside the original) may be consumed at once, and the one
    // that returns first must not leave the other's task looking abandoned.
    private readonly ConcurrentDictionary<Guid, int> _tasks = new();

    /// <summary>Takes a task in hand (once more, if another consume of it holds it already).</summary>
    /// <param name="taskId">Task id.</param>
    public void Take(Guid taskId) => _tasks.AddOrUpdate(taskId, 1, (_, count) => count + 1);

    /// <summary>Lets a task go once (its consume returned).</summary>
    /// <param name="taskId">Task id.</param>
    public void Drop(Guid taskId)
    {
        while (_tasks.TryGetValue(taskId, out var count))
        {
            if (count <= 1 ? _tasks.TryRemove(KeyValuePair.Create(taskId, count)) : _tasks.TryUpdate(taskId, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>Whether a task is in hand.</summary>
    /// <param name="taskId">Task id.</param>
    /// <returns>True while a consume of it runs.</returns>
    public bool Holds(Guid taskId) => _tasks.ContainsKey(taskId);
}
