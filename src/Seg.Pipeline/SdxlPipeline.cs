using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Seg.Pipeline.Guidance;
using Seg.Pipeline.Models;
using Seg.Pipeline.Noise;
using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;
using Seg.Pipeline.Schedulers;
using Seg.Pipeline.Text;
using Seg.Pipeline.UNet;
using Seg.Pipeline.Vae;

namespace Seg.Pipeline;

/// <summary>
/// The SEG SDXL text-to-image pipeline on ONNX Runtime. <see cref="Render"/> reads like diffusers'
/// <c>__call__</c>: check inputs, encode the prompt, prepare timesteps and latents, denoise (scale the input,
/// predict noise for uncond / cond / blurred in one UNet call, guide, step), decode.
/// </summary>
public sealed class SdxlPipeline : IDisposable
{
    private readonly PipelineOptions _options;
    private readonly OnnxSessionFactory _sessions;
    private readonly SdxlPromptEncoder _text;
    private readonly VaeDecoder _vae;
    private readonly SchedulerConfig _schedulerConfig;
    private readonly Lazy<UNetSession> _plainUNet;
    // Made after the first session, which settles the provider (CUDA, or the CPU after an allowed fallback).
    private readonly Lazy<DeviceTensorCopier> _copier;
    private readonly ConcurrentDictionary<string, Lazy<SegUNet>> _segUNets = new();

    private SdxlPipeline(SdxlModelFolder model, PipelineOptions options)
    {
        Model = model;
        _options = options;
        _sessions = new OnnxSessionFactory(options.ExecutionProvider, options.Warning);
        _schedulerConfig = SchedulerConfig.Load(model.SchedulerConfigPath);
        _text = new SdxlPromptEncoder(model, _sessions);
        _vae = new VaeDecoder(model, _sessions);
        _plainUNet = new Lazy<UNetSession>(() => new UNetSession(model.UNetPath, _sessions));
        _copier = new Lazy<DeviceTensorCopier>(() => new DeviceTensorCopier(_sessions));
    }

    /// <summary>The model folder this pipeline renders with.</summary>
    public SdxlModelFolder Model { get; }

    /// <summary>The execution provider the sessions actually run on (after any allowed fallback).</summary>
    public string ExecutionProvider => _sessions.ActiveProviderName;

    /// <summary>The device as configured, e.g. <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string Device => _sessions.ActiveProvider == ExecutionProviderKind.Cpu ? "cpu" : _options.ExecutionProvider.ToString();

    /// <summary>Seg farm's version, recorded in provenance.</summary>
    public static string SoftwareVersion { get; } =
        typeof(SdxlPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>The tokenizers, for tools that show token ids.</summary>
    public (ClipTokenizer First, ClipTokenizer Second) Tokenizers => (_text.Tokenizer1, _text.Tokenizer2);

    /// <summary>Opens a model folder and creates its sessions (the UNet on first use).</summary>
    /// <exception cref="ModelFolderException">The folder, a file or a graph interface is wrong.</exception>
    /// <exception cref="ExecutionProviderUnavailableException">CUDA was asked for, cannot load, and no fallback was allowed.</exception>
    public static SdxlPipeline Load(string modelFolder, PipelineOptions? options = null)
    {
        options ??= new PipelineOptions();
        var model = SdxlModelFolder.Open(modelFolder, options.VaeFolder);
        return new SdxlPipeline(model, options);
    }

    /// <summary>Renders one image (the request's first SEG sigma).</summary>
    public RenderedImage Render(RenderRequest request, IProgress<RenderProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RenderAll(request with { SegBlurSigmas = [request.SegBlurSigmas.Count > 0 ? request.SegBlurSigmas[0] : double.NaN] },
            progress, cancellationToken)[0];

    /// <summary>
    /// Renders one image per SEG sigma of the request, for the same seed, sharing every UNet call (one
    /// blurred item per sigma in the batch). Each image equals what a single-sigma render gives.
    /// </summary>
    /// <exception cref="RenderRequestException">A parameter breaks a rule.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public IReadOnlyList<RenderedImage> RenderAll(
        RenderRequest request,
        IProgress<RenderProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        // 1. Check inputs.
        request.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var total = Stopwatch.StartNew();
        var segUNet = request.UsesSeg ? GetSegUNet(request.SegLayers) : null;
        var unet = segUNet?.Session ?? _plainUNet.Value;
        var latentHeight = request.Height / 8;
        var latentWidth = request.Width / 8;
        var latentSize = 4 * latentHeight * latentWidth;

        using var runOptions = new RunOptions();
        using var cancelRegistration = cancellationToken.Register(() => runOptions.Terminate = true);
        var textClock = new SessionRunClock();
        var unetClock = new SessionRunClock();
        var vaeClock = new SessionRunClock();

        // 2. Encode the prompt.
        var textWatch = Stopwatch.StartNew();
        EncodedPrompts prompts;
        using (PipelineTelemetry.ActivitySource.StartActivity("seg.encode_prompt"))
        {
            prompts = _text.Encode(request.Prompt, request.NegativePrompt, request.UsesCfg, textClock);
        }
        textWatch.Stop();
        foreach (var warning in prompts.Warnings)
        {
            _options.Warning?.Invoke(warning);
        }
        CheckEmbeddingSizes(unet, prompts);

        // 3. Timesteps and 4. latents: one scheduler and one generator per image, so batching sigmas
        // changes nothing about each image (ancestral schedulers draw their own noise per image).
        var sigmas = request.UsesSeg ? request.SegBlurSigmas : [request.SegBlurSigmas[0]];
        var images = sigmas.Count;
        var schedulers = new IDiffusionScheduler[images];
        var generators = new TorchGenerator[images];
        var latents = new float[images][];
        float[] initialNoise = [];
        for (var v = 0; v < images; v++)
        {
            schedulers[v] = SchedulerFactory.Create(request.Scheduler, _schedulerConfig, request.Steps);
            generators[v] = new TorchGenerator(checked((ulong)request.Seed));
            var noise = generators[v].Normal(latentSize);
            initialNoise = noise;
            latents[v] = new float[latentSize];
            var initSigma = schedulers[v].InitNoiseSigma;
            for (var i = 0; i < latentSize; i++)
            {
                latents[v][i] = noise[i] * initSigma;
            }
        }

        var timeIds = TimeIds(request);
        // One layout and one binding (constants on the device) per SEG state: a guidance window switches between two.
        var layouts = new Dictionary<bool, (BatchLayout Layout, UNetBinding Binding)>();
        var denoise = Stopwatch.StartNew();
        var denoiseSpan = PipelineTelemetry.ActivitySource.StartActivity("seg.denoise");
        denoiseSpan?.SetTag("seg.steps", request.Steps);
        denoiseSpan?.SetTag("seg.images", images);
        var guided = new float[latentSize];
        var deviceResident = _sessions.ActiveProvider == ExecutionProviderKind.Cuda && _options.ExecutionProvider.CudaSettings.EnableCudaGraph;

        // 5. Denoising loop.
        try
        {
            for (var step = 0; step < request.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var segNow = request.SegActiveAt(step);
                if (!layouts.TryGetValue(segNow, out var bound))
                {
                    var created = BatchLayout.Create(request, segNow, sigmas, prompts, timeIds, segUNet, latentHeight, latentWidth);
                    var constants = new UNetInputs(created.Batch, latentHeight, latentWidth, [], 0, prompts.SequenceLength,
                        created.HiddenStates, created.TextEmbeds, created.TimeIds, created.ExtraInputs, created.ForkRows);
                    bound = (created, unet.Bind(constants, _copier.Value, deviceResident));
                    layouts[segNow] = bound;
                }
                var (layout, binding) = bound;

                var timestep = schedulers[0].Timesteps[step];
                for (var item = 0; item < layout.Batch; item++)
                {
                    var v = layout.InputItems[item].Image;
                    schedulers[v].ScaleModelInput(latents[v], step, binding.Sample.Slice(item * latentSize, latentSize));
                }
                var eps = RunCancellable(() => binding.Predict(timestep, runOptions, unetClock), cancellationToken);

                for (var v = 0; v < images; v++)
                {
                    var cond = Slice(eps, layout.CondIndex(v), latentSize);
                    var uncond = layout.UncondIndex(v) is { } u ? Slice(eps, u, latentSize) : default;
                    var blurred = layout.BlurredIndex(v) is { } s ? Slice(eps, s, latentSize) : default;
                    NoiseGuidance.Combine(guided, cond, uncond, blurred, (float)request.GuidanceScale, (float)request.SegScale);
                    if (request.UsesCfg)
                    {
                        NoiseGuidance.Rescale(guided, cond, (float)request.GuidanceRescale);
                    }
                    schedulers[v].Step(guided, step, latents[v], generators[v]);
                }
                progress?.Report(new RenderProgress(step + 1, request.Steps, timestep));
            }
        }
        finally
        {
            foreach (var (_, binding) in layouts.Values)
            {
                binding.Dispose();
            }
            denoiseSpan?.Dispose();
        }
        denoise.Stop();

        // 6. Decode, one image at a time to bound the VAE's memory at large sizes.
        var vaeWatch = Stopwatch.StartNew();
        var pixels = new byte[images][];
        using (PipelineTelemetry.ActivitySource.StartActivity("seg.vae_decode"))
        {
            for (var v = 0; v < images; v++)
            {
                var index = v;
                pixels[v] = RunCancellable(() => _vae.Decode(latents[index], 1, latentHeight, latentWidth, runOptions, vaeClock), cancellationToken)[0];
            }
        }
        vaeWatch.Stop();
        total.Stop();

        var timings = new StageTimings(textWatch.Elapsed.TotalMilliseconds, denoise.Elapsed.TotalMilliseconds,
            unetClock.Elapsed.TotalMilliseconds, vaeWatch.Elapsed.TotalMilliseconds, total.Elapsed.TotalMilliseconds,
            (textClock.Elapsed + unetClock.Elapsed + vaeClock.Elapsed).TotalMilliseconds);
        var results = new List<RenderedImage>(request.SegBlurSigmas.Count);
        for (var i = 0; i < request.SegBlurSigmas.Count; i++)
        {
            var v = request.UsesSeg ? i : 0;
            var provenance = Provenance(request, request.SegBlurSigmas[i], segUNet);
            results.Add(new RenderedImage(pixels[v], request.Width, request.Height, initialNoise, latents[v],
                provenance, timings, prompts.Warnings));
        }
        return results;
    }

    private RenderProvenance Provenance(RenderRequest request, double sigma, SegUNet? segUNet)
    {
        // What ran: the patched layers in canonical form, and the separate VAE the pipeline decoded with.
        var ran = request with
        {
            Parameters = request.Parameters with { SegLayers = segUNet?.Layers ?? request.SegLayers, Vae = request.Parameters.Vae ?? _options.VaeFolder },
        };
        var provenance = RenderProvenance.ForRequest(ran, sigma, Model.Name, OnnxSessionFactory.OnnxRuntimeVersion, ExecutionProvider, SoftwareVersion);
        return provenance with { SegPatchVersion = segUNet?.PatchVersion };
    }

    private static float[] TimeIds(RenderRequest request)
    {
        var (originalWidth, originalHeight) = request.OriginalSize ?? (request.Width, request.Height);
        return [originalHeight, originalWidth, request.CropTopLeft.Top, request.CropTopLeft.Left, request.Height, request.Width];
    }

    private static void CheckEmbeddingSizes(UNetSession unet, EncodedPrompts prompts)
    {
        if (unet.EncoderHiddenSize > 0 && unet.EncoderHiddenSize != prompts.TokenFeatures)
        {
            throw new ModelFolderException(
                $"model: the UNet expects encoder_hidden_states with {unet.EncoderHiddenSize} features but the text encoders give {prompts.TokenFeatures}");
        }
        if (unet.TextEmbedsSize > 0 && unet.TextEmbedsSize != prompts.PooledFeatures)
        {
            throw new ModelFolderException(
                $"model: the UNet expects text_embeds of {unet.TextEmbedsSize} features but text_encoder_2 gives {prompts.PooledFeatures}");
        }
    }

    private static ReadOnlySpan<float> Slice(float[] batch, int item, int size) => batch.AsSpan(item * size, size);

    private static T RunCancellable<T>(Func<T> run, CancellationToken cancellationToken)
    {
        try
        {
            return run();
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            // RunOptions.Terminate makes the session throw; report it as the cancellation it is.
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>The SEG-patched UNet for a layer selection, patched and opened on first use.</summary>
    internal SegUNet GetSegUNet(string layers)
    {
        var selection = SegLayerSelection.Parse(layers);
        return _segUNets.GetOrAdd(selection.Canonical, _ => new Lazy<SegUNet>(() => SegUNet.Open(Model, selection, _options, _sessions))).Value;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_copier.IsValueCreated)
        {
            _copier.Value.Dispose();
        }
        _text.Dispose();
        _vae.Dispose();
        if (_plainUNet.IsValueCreated)
        {
            _plainUNet.Value.Dispose();
        }
        foreach (var segUNet in _segUNets.Values.Where(l => l.IsValueCreated))
        {
            segUNet.Value.Session.Dispose();
        }
    }
}
