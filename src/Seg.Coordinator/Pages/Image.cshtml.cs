using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Web;
using Seg.Parameters;

namespace Seg.Coordinator.Pages;

/// <summary>A neighbour of an image: the same values but one field's.</summary>
/// <param name="Field">The field that differs.</param>
/// <param name="Value">Its value there.</param>
/// <param name="Task">The task, when it exists.</param>
public sealed record Neighbour(string Field, string Value, GridTask? Task);

/// <summary>
/// One image: full size, every provenance field, the <c>seg render</c> command that makes it again, its neighbours
/// (the same values but one swept field), and a comparison with another image side by side and with a slider.
/// </summary>
/// <param name="queries">The pages' queries.</param>
public sealed class ImageModel(WebQueries queries) : SegPageModel
{
    /// <summary>Most neighbours listed per field.</summary>
    public const int MaxNeighboursPerField = 12;

    /// <summary>The image's row.</summary>
    public ImageDetail Detail { get; private set; } = null!;

    /// <summary>Every provenance field with its value, as recorded.</summary>
    public IReadOnlyList<(string Field, string Value)> Provenance { get; private set; } = [];

    /// <summary>The command that renders it again.</summary>
    public string Command { get; private set; } = "";

    /// <summary>The alt text: the parameters that tell it from the others.</summary>
    public string Alt { get; private set; } = "";

    /// <summary>Its neighbours.</summary>
    public IReadOnlyList<Neighbour> Neighbours { get; private set; } = [];

    /// <summary>The image compared with, when one is chosen.</summary>
    public ImageDetail? Compare { get; private set; }

    /// <summary>The alt text of <see cref="Compare"/>.</summary>
    public string CompareAlt { get; private set; } = "";

    /// <summary>Loads the image; 404 when the task has none.</summary>
    public async Task<IActionResult> OnGetAsync(Guid taskId, Guid? compare, CancellationToken cancellationToken)
    {
        if (await queries.ImageAsync(taskId, cancellationToken).ConfigureAwait(false) is not { } detail)
        {
            return NotFound();
        }

        Detail = detail;
        var image = detail.Image;
        Provenance = ProvenanceOf(detail);
        Command = RenderCommandLine.For(image.Parameters, $"{taskId}.png");
        Alt = AltOf(image.Parameters);
        if (await queries.DefinitionAsync(image.SweepId, cancellationToken).ConfigureAwait(false) is { } definition)
        {
            Neighbours = await NeighboursAsync(new SweepGrid(definition), detail, cancellationToken).ConfigureAwait(false);
        }

        if (compare is { } other && await queries.ImageAsync(other, cancellationToken).ConfigureAwait(false) is { } compared)
        {
            Compare = compared;
            CompareAlt = AltOf(compared.Image.Parameters);
        }

        return Page();
    }

    /// <summary>The alt text of an image: prompt, seed and the SEG and CFG values.</summary>
    public static string AltOf(RenderParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return string.Join(", ", new ParameterDefinition[] { ParameterDefinitions.Prompt, ParameterDefinitions.Seed, ParameterDefinitions.GuidanceScale,
                ParameterDefinitions.SegScale, ParameterDefinitions.SegBlurSigma, ParameterDefinitions.Steps }
            .Select(d => $"{d.Name} = {d.FormatValue(d.ReadValue(p))}"));
    }

    private async Task<IReadOnlyList<Neighbour>> NeighboursAsync(SweepGrid grid, ImageDetail detail, CancellationToken cancellationToken)
    {
        var position = grid.PositionOf(detail.TaskIndex);
        var wanted = new List<(string Field, string Value, int TaskIndex)>();
        for (var i = 0; i < grid.Axes.Count; i++)
        {
            var axis = grid.Axes[i];
            for (long v = 0; v < Math.Min(axis.Count, MaxNeighboursPerField + 1); v++)
            {
                if (v == position[i])
                {
                    continue;
                }

                var other = (long[])position.Clone();
                other[i] = v;
                wanted.Add((axis.Name, axis.Label(v), checked((int)grid.TaskIndexAt(other))));
            }
        }

        var tasks = await queries.TasksAtAsync(detail.Image.SweepId, [.. wanted.Select(w => w.TaskIndex)], cancellationToken).ConfigureAwait(false);
        return [.. wanted.Select(w => new Neighbour(w.Field, w.Value, tasks.GetValueOrDefault(w.TaskIndex)))];
    }

    private static List<(string, string)> ProvenanceOf(ImageDetail detail)
    {
        var i = detail.Image;
        var fields = new List<(string, string)>
        {
            ("task_id", i.TaskId.ToString()),
            ("sweep_id", i.SweepId.ToString()),
            ("task_index", detail.TaskIndex.ToString(CultureInfo.InvariantCulture)),
        };
        fields.AddRange(ParameterDefinitions.All.Select(d => (d.Name, d.FormatValue(d.ReadValue(i.Parameters)))));
        fields.AddRange(
        [
            ("model_file_hashes", i.ModelFileHashesJson),
            ("patch_version", i.PatchVersion),
            ("software_version", i.SoftwareVersion),
            ("worker_id", i.WorkerId),
            ("worker_host", i.WorkerHost),
            ("device", i.Device),
            ("onnxruntime_version", i.OnnxRuntimeVersion),
            ("execution_provider", i.ExecutionProvider),
            ("timings", i.TimingsJson),
            ("image_sha256", i.ImageSha256),
            ("image_width", i.ImageWidth.ToString(CultureInfo.InvariantCulture)),
            ("image_height", i.ImageHeight.ToString(CultureInfo.InvariantCulture)),
            ("image_bytes", i.ImageBytes.ToString(CultureInfo.InvariantCulture)),
            ("blob_name", i.BlobName),
            ("blob_uri", i.BlobUri),
            ("created_at", Time(i.CreatedAt)),
            ("parameters_json", i.ParametersJson),
        ]);
        return fields;
    }
}
