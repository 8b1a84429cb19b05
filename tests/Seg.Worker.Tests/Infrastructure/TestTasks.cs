using System.Text.Json;
using Seg.Contracts.Messages;
using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>Sweeps and tasks written straight into a test database, and the messages that carry them.</summary>
public static class TestTasks
{
    /// <summary>Fast parameters for the tiny model: 64x64, 3 steps, SEG on the mid block with CFG.</summary>
    public static RenderParameters Tiny(long seed = 1, string layers = "mid", string model = "tiny", int steps = 3) => new()
    {
        Model = model,
        Prompt = "a photo of a cat",
        NegativePrompt = "blurry",
        Seed = seed,
        Width = 64,
        Height = 64,
        Steps = steps,
        Scheduler = "euler",
        GuidanceScale = 5,
        GuidanceRescale = 0,
        SegScale = 3,
        SegBlurSigma = double.PositiveInfinity,
        SegLayers = layers,
        SegWindowStart = 0,
        SegWindowStop = 1,
    };

    /// <summary>Stores a running sweep with one queued task per parameter set; returns the task messages.</summary>
    public static async Task<IReadOnlyList<RenderTask>> InsertAsync(WorkerTestEnvironment environment, int maxAttempts, params RenderParameters[] parameters)
    {
        var now = DateTimeOffset.UtcNow;
        var sweep = new Sweep
        {
            Id = Guid.NewGuid(),
            Name = "worker test",
            DefinitionJson = "{}",
            TagsJson = "{}",
            Status = SweepStatus.Running,
            TaskCount = parameters.Length,
            MaxAttempts = maxAttempts,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var tasks = parameters.Select((p, i) => new RenderTask(Guid.NewGuid(), sweep.Id, i, 1, p)).ToList();
        await using var db = environment.CreateContext();
        db.Sweeps.Add(sweep);
        db.RenderTasks.AddRange(tasks.Select(t => new RenderTaskRecord
        {
            Id = t.TaskId,
            SweepId = t.SweepId,
            TaskIndex = (int)t.TaskIndex,
            Status = RenderTaskStatus.Queued,
            Model = t.Parameters.Model,
            CreatedAt = now,
            QueuedAt = now,
        }));
        await db.SaveChangesAsync();
        return tasks;
    }

    public static Task<IReadOnlyList<RenderTask>> InsertAsync(WorkerTestEnvironment environment, params RenderParameters[] parameters) =>
        InsertAsync(environment, 3, parameters);
}
