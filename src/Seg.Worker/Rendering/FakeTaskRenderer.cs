using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.Imaging;
using Seg.Worker.Devices;

namespace Seg.Worker.Rendering;

/// <summary>
/// <see cref="RenderMode.Fake"/>: a fixed cheap render for benchmarking the farm, never for images. It leases a slot
/// like the pipeline, optionally holds it for <see cref="WorkerOptions.FakeRenderSeconds"/>, and makes a small
/// PNG whose pixels follow from the task's parameters (the same task gives the same bytes) without ONNX. Its
/// provenance says <c>fake</c> as execution provider, patch version and render mode.
/// </summary>
/// <param name="pool">The render slots.</param>
/// <param name="options">Worker options.</param>
public sealed class FakeTaskRenderer(PipelinePool pool, IOptions<WorkerOptions> options) : ITaskRenderer
{
    /// <summary>Width and height of every fake image: the smallest size a render may have.</summary>
    public const int Size = ParameterDefinitions.MinSide;

    /// <summary>What fake renders write as execution provider, patch version and ONNX Runtime version.</summary>
    public const string Marker = "fake";

    private readonly TimeSpan _delay = TimeSpan.FromSeconds(options.Value.FakeRenderSeconds);

    /// <inheritdoc />
    public async Task<TaskRenderResult> RenderAsync(RenderTask task, RenderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(request);
        using var lease = await pool.LeaseAsync(cancellationToken).ConfigureAwait(false);
        var device = Stopwatch.StartNew();
        if (_delay > TimeSpan.Zero)
        {
            await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        }

        var parameters = task.Parameters;
        var png = PngImageEncoder.Encode(Pixels(parameters), Size, Size, Provenance(request, parameters).ToPngText());
        png = TaskPngText.Add(png, task, new Dictionary<string, string>(), Marker);
        device.Stop();

        var stages = new Dictionary<string, double>
        {
            [Stages.WaitForSlot] = lease.Waited.TotalSeconds,
            [Stages.Device] = device.Elapsed.TotalSeconds,
        };
        return new TaskRenderResult(png, Size, Size, lease.Slot.Device, Marker, Marker, Marker,
            new Dictionary<string, string>(), stages, device.Elapsed.TotalSeconds, []);
    }

    /// <summary>
    /// A smooth gradient whose colours come from the SHA-256 of the parameters: it compresses in a fraction of the time
    /// of a noisy pattern, whose deflate took a quarter of a worker's CPU in the farm benchmark (perf).
    /// </summary>
    private static byte[] Pixels(RenderParameters parameters)
    {
        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(parameters));
        var rgb = new byte[Size * Size * 3];
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                var i = (y * Size + x) * 3;
                rgb[i] = (byte)(hash[0] + x * 4);
                rgb[i + 1] = (byte)(hash[1] + y * 4);
                rgb[i + 2] = hash[2];
            }
        }

        return rgb;
    }

    private static RenderProvenance Provenance(RenderRequest request, RenderParameters p) =>
        RenderProvenance.ForRequest(request, p.SegBlurSigma, p.Model, Marker, Marker,
            string.Create(CultureInfo.InvariantCulture, $"{SdxlPipeline.SoftwareVersion} (fake render)")) with
        {
            SegPatchVersion = Marker,
        };
}
