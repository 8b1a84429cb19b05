using System.Text.Json;
using System.Text.Json.Serialization;
using Seg.Contracts.Messages;
using Seg.Pipeline.Imaging;

namespace Seg.Worker.Rendering;

/// <summary>
/// The farm's own PNG text entry <c>seg_task</c>, beside the pipeline's <c>parameters</c> and <c>seg</c>: which task
/// and sweep the image belongs to, the model's file hashes and the render mode. Only facts that are the same on
/// every attempt, so that a repeated render of a task gives the same bytes.
/// </summary>
public static class TaskPngText
{
    /// <summary>The text key.</summary>
    public const string Key = "seg_task";

    /// <summary>Adds the entry to a PNG.</summary>
    /// <param name="png">The PNG with the pipeline's provenance.</param>
    /// <param name="task">The task.</param>
    /// <param name="modelFileHashes">The model's file hashes.</param>
    /// <param name="renderMode">The worker's render mode name.</param>
    /// <returns>The new PNG bytes.</returns>
    public static byte[] Add(byte[] png, RenderTask task, IReadOnlyDictionary<string, string> modelFileHashes, string renderMode)
    {
        var entry = new Entry(task.TaskId, task.SweepId, task.TaskIndex, task.Parameters.Model, modelFileHashes, renderMode);
        return PngTextChunks.Insert(png, [new KeyValuePair<string, string>(Key, JsonSerializer.Serialize(entry))]);
    }

    /// <summary>Reads the entry back from a PNG, or null when it has none.</summary>
    /// <param name="png">The PNG bytes.</param>
    /// <returns>The entry.</returns>
    public static Entry? Read(byte[] png)
    {
        var text = PngTextChunks.Read(png).FirstOrDefault(e => e.Key == Key).Value;
        return text is null ? null : JsonSerializer.Deserialize<Entry>(text);
    }

    /// <summary>The <c>seg_task</c> entry.</summary>
    /// <param name="TaskId">The task id.</param>
    /// <param name="SweepId">The sweep id.</param>
    /// <param name="TaskIndex">The task's index in its sweep.</param>
    /// <param name="Model">The model name as the task gave it.</param>
    /// <param name="ModelFileHashes">SHA-256 of the model files.</param>
    /// <param name="RenderMode"><c>pipeline</c>, or <c>fake</c> for a benchmark image that is not a real render.</param>
    public sealed record Entry(
        [property: JsonPropertyName("task_id")] Guid TaskId,
        [property: JsonPropertyName("sweep_id")] Guid SweepId,
        [property: JsonPropertyName("task_index")] long TaskIndex,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("model_file_hashes")] IReadOnlyDictionary<string, string> ModelFileHashes,
        [property: JsonPropertyName("render_mode")] string RenderMode);
}
