using System.Diagnostics;
using Microsoft.Extensions.Options;
using Seg.Contracts.Messages;
using Seg.Pipeline;
using Seg.Pipeline.Models;
using Seg.ServiceDefaults;
using Seg.Worker.Devices;
using Seg.Worker.Models;

namespace Seg.Worker.Rendering;

/// <summary>Renders tasks with the SEG SDXL ONNX pipeline on a leased slot of the <see cref="PipelinePool"/>.</summary>
/// <param name="pool">The render slots.</param>
/// <param name="models">Resolves model names to folders.</param>
/// <param name="hasher">Model file hashes for provenance.</param>
/// <param name="options">Worker options.</param>
public sealed class PipelineTaskRenderer(PipelinePool pool, ModelResolver models, ModelFileHasher hasher, IOptions<WorkerOptions> options) : ITaskRenderer
{
    private readonly string _renderMode = options.Value.RenderModeName;

    /// <inheritdoc />
    public async Task<TaskRenderResult> RenderAsync(RenderTask task, RenderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(request);
        var parameters = task.Parameters;
        var modelFolder = models.ResolveModel(parameters.Model);
        var vaeFolder = models.ResolveVae(parameters.Vae);
        var hashes = await HashesAsync(modelFolder, vaeFolder, cancellationToken).ConfigureAwait(false);

        using var lease = await pool.LeaseAsync(cancellationToken).ConfigureAwait(false);
        // A render blocks its thread for seconds to minutes: give it a thread of its own, not the pool's.
        var (image, pipeline, loadSeconds, gpuSeconds) = await Task.Factory.StartNew(
            () => Render(lease.Slot, parameters.Model.Trim(), modelFolder, vaeFolder, request, cancellationToken),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);

        var encode = Stopwatch.StartNew();
        byte[] png;
        using (SegTelemetry.ActivitySource.StartActivity("seg.encode_png"))
        {
            png = TaskPngText.Add(image.ToPng(), task, hashes, _renderMode);
        }
        encode.Stop();

        var timings = image.Timings;
        var stages = new Dictionary<string, double>
        {
            [Stages.WaitForSlot] = lease.Waited.TotalSeconds,
            [Stages.LoadModel] = loadSeconds,
            [Stages.EncodePrompt] = Seconds(timings.TextEncodingMs),
            [Stages.Denoise] = Seconds(timings.DenoisingMs),
            [Stages.UNet] = Seconds(timings.UNetMs),
            [Stages.Decode] = Seconds(timings.VaeMs),
            [Stages.Device] = gpuSeconds,
            [Stages.EncodePng] = encode.Elapsed.TotalSeconds,
        };
        return new TaskRenderResult(png, image.Width, image.Height, pipeline.Device, pipeline.ExecutionProvider,
            image.Provenance.OnnxRuntimeVersion, image.Provenance.SegPatchVersion ?? "none", hashes, stages, gpuSeconds, image.Warnings);
    }

    private static double Seconds(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds).TotalSeconds;

    private static (RenderedImage Image, SdxlPipeline Pipeline, double LoadSeconds, double GpuSeconds) Render(
        DeviceSlot slot, string modelName, string modelFolder, string? vaeFolder, RenderRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var load = Stopwatch.StartNew();
            var pipeline = slot.GetPipeline(modelName, modelFolder, vaeFolder, out var loaded);
            var loadSeconds = loaded ? load.Elapsed.TotalSeconds : 0;
            var render = Stopwatch.StartNew();
            var image = pipeline.Render(request, null, cancellationToken);
            return (image, pipeline, loadSeconds, render.Elapsed.TotalSeconds);
        }
        catch (ModelFolderException e)
        {
            // The reason reaches the database and the API: it names the model, not the worker's folders.
            var message = e.Message.Replace(modelFolder, $"model '{modelName}'", StringComparison.Ordinal);
            message = vaeFolder is null ? message : message.Replace(vaeFolder, $"vae '{request.Parameters.Vae}'", StringComparison.Ordinal);
            throw new PermanentTaskFailureException(message, e);
        }
        catch (RenderRequestException e)
        {
            throw new PermanentTaskFailureException(e.Message, e);
        }
        catch (FormatException e)
        {
            // SegLayerSelection.Parse: a layer list that is not one.
            throw new PermanentTaskFailureException(e.Message, e);
        }
        catch (ArgumentException e) when (e is not ArgumentNullException)
        {
            // SegLayerSelection.Resolve: a layer index the model does not have ("seg_layers: m5 is out of range ...").
            var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new PermanentTaskFailureException(message, e);
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> HashesAsync(string modelFolder, string? vaeFolder, CancellationToken cancellationToken)
    {
        var hashes = await hasher.GetAsync(modelFolder, cancellationToken).ConfigureAwait(false);
        if (vaeFolder is null)
        {
            return hashes;
        }

        var vae = await hasher.GetAsync(vaeFolder, cancellationToken).ConfigureAwait(false);
        var all = new SortedDictionary<string, string>(hashes.ToDictionary(), StringComparer.Ordinal);
        foreach (var (path, hash) in vae)
        {
            all[$"vae:{path}"] = hash;
        }

        return all;
    }
}
