using System.Text.Json;
using Seg.Contracts.Messages;
using Seg.Parameters;
using Seg.Storage.Entities;

namespace Seg.Export;

/// <summary>The value type of an export column.</summary>
public enum ExportType
{
    /// <summary>UTF-8 text.</summary>
    String,

    /// <summary>32-bit integer.</summary>
    Int32,

    /// <summary>64-bit integer.</summary>
    Int64,

    /// <summary>64-bit float; the infinite blur is <see cref="double.PositiveInfinity"/>.</summary>
    Double,

    /// <summary>An instant, UTC, microseconds.</summary>
    Timestamp,
}

/// <summary>One column of every export (a <c>metadata.jsonl</c> field, a WebDataset JSON field, a Parquet column).</summary>
/// <param name="Name">The snake_case name.</param>
/// <param name="Type">The value type.</param>
/// <param name="IsNullable">Whether a row may have no value.</param>
/// <param name="Read">The value of a provenance row.</param>
public sealed record ExportColumn(string Name, ExportType Type, bool IsNullable, Func<ExportSourceRow, object?> Read);

/// <summary>A provenance row with its task's place and status: what <see cref="ExportColumns"/> read.</summary>
/// <param name="Image">The provenance row.</param>
/// <param name="TaskIndex">The task's place in the sweep's expansion.</param>
/// <param name="Status">The task's status.</param>
public sealed record ExportSourceRow(ImageRecord Image, int TaskIndex, RenderTaskStatus Status)
{
    /// <summary>The provenance timings, stage to seconds.</summary>
    internal Dictionary<string, double> Timings { get; } =
        JsonSerializer.Deserialize<Dictionary<string, double>>(Image.TimingsJson) ?? [];
}

/// <summary>
/// The columns of every export, in order: the sample's identity, every render parameter (from
/// <see cref="ParameterDefinitions.All"/>, typed as the parameter), then the provenance (model file hashes, versions,
/// worker, device, provider, one <c>STAGE_seconds</c> column per stage of <see cref="Stages.All"/>, the image's hash,
/// size and time). The one list the three formats write and the farm's stream is read back with.
/// </summary>
public static class ExportColumns
{
    /// <summary>The sample key: the task id, 32 hex digits without dashes (WebDataset keys must not hold dots).</summary>
    public const string Key = "key";

    /// <summary>The column of the time the image was stored.</summary>
    public const string CreatedAt = "created_at";

    /// <summary>Every column, in order.</summary>
    public static IReadOnlyList<ExportColumn> All { get; } = Build();

    /// <summary>The index of the column named <paramref name="name"/> in <see cref="All"/>, or -1.</summary>
    public static int IndexOf(string name)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (All[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The key of a task's sample.</summary>
    public static string KeyOf(Guid taskId) => taskId.ToString("N");

    /// <summary>The values of every column for <paramref name="row"/>, in <see cref="All"/> order.</summary>
    public static object?[] Values(ExportSourceRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var values = new object?[All.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = All[i].Read(row);
        }
        return values;
    }

    private static List<ExportColumn> Build()
    {
        List<ExportColumn> columns =
        [
            new(Key, ExportType.String, false, r => KeyOf(r.Image.TaskId)),
            new("task_id", ExportType.String, false, r => r.Image.TaskId.ToString("D")),
            new("sweep_id", ExportType.String, false, r => r.Image.SweepId.ToString("D")),
            new("task_index", ExportType.Int32, false, r => r.TaskIndex),
            new("status", ExportType.String, false, r => r.Status.ToString().ToLowerInvariant()),
        ];
        columns.AddRange(ParameterDefinitions.All.Select(definition =>
            new ExportColumn(definition.Name, TypeOf(definition.ValueType), definition.IsOptional, r => definition.ReadValue(r.Image.Parameters))));
        columns.AddRange(
        [
            new("model_file_hashes", ExportType.String, false, r => r.Image.ModelFileHashesJson),
            new("patch_version", ExportType.String, false, r => r.Image.PatchVersion),
            new("software_version", ExportType.String, false, r => r.Image.SoftwareVersion),
            new("worker_id", ExportType.String, false, r => r.Image.WorkerId),
            new("worker_host", ExportType.String, false, r => r.Image.WorkerHost),
            new("device", ExportType.String, false, r => r.Image.Device),
            new("onnx_runtime_version", ExportType.String, false, r => r.Image.OnnxRuntimeVersion),
            new("execution_provider", ExportType.String, false, r => r.Image.ExecutionProvider),
        ]);
        columns.AddRange(Stages.All.Select(stage =>
            new ExportColumn($"{stage}_seconds", ExportType.Double, true, r => r.Timings.TryGetValue(stage, out var seconds) ? seconds : null)));
        columns.AddRange(
        [
            new("image_sha256", ExportType.String, false, r => r.Image.ImageSha256),
            new("image_width", ExportType.Int32, false, r => r.Image.ImageWidth),
            new("image_height", ExportType.Int32, false, r => r.Image.ImageHeight),
            new("image_bytes", ExportType.Int64, false, r => r.Image.ImageBytes),
            new(CreatedAt, ExportType.Timestamp, false, r => r.Image.CreatedAt.ToUniversalTime()),
        ]);
        return columns;
    }

    private static ExportType TypeOf(Type type) =>
        type == typeof(string) ? ExportType.String
        : type == typeof(int) ? ExportType.Int32
        : type == typeof(long) ? ExportType.Int64
        : type == typeof(double) ? ExportType.Double
        : throw new InvalidOperationException($"no export type for parameters of type {type.Name}");
}
