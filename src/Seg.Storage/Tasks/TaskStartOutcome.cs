namespace Seg.Storage.Tasks;

/// <summary>What <see cref="TaskTransitions.TryStartAsync"/> did.</summary>
public enum TaskStartOutcome
{
    /// <summary>The task is now running on the calling worker: render it.</summary>
    Started,

    /// <summary>The task had already ended (succeeded, failed or cancelled): acknowledge without rendering.</summary>
    AlreadyEnded,

    /// <summary>Another worker runs the task and take-over was not asked for.</summary>
    RunningElsewhere,

    /// <summary>The task used up its sweep's attempts; it has been marked failed.</summary>
    AttemptsExhausted,

    /// <summary>No task has this id.</summary>
    NotFound,
}

/// <summary>What <see cref="TaskTransitions.StartAsync"/> did.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Attempt">On <see cref="TaskStartOutcome.Started"/> the attempt number this start counted (1 for the first); otherwise 0.</param>
public sealed record TaskStart(TaskStartOutcome Outcome, int Attempt = 0)
{
    /// <summary>A start that is the task's first attempt: no earlier attempt can have stored an image.</summary>
    public bool IsFirstAttempt => Outcome == TaskStartOutcome.Started && Attempt == 1;
}
