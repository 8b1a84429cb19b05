using Seg.Pipeline.QueryBlur;
using Seg.Pipeline.Runtime;

namespace Seg.Pipeline;

/// <summary>Settings of one pipeline instance (one per GPU in a worker).</summary>
public sealed record PipelineOptions
{
    /// <summary>Where the sessions run.</summary>
    public ExecutionProviderOptions ExecutionProvider { get; init; } = ExecutionProviderOptions.Cpu;

    /// <summary>A separate VAE decoder folder (an fp32 VAE for fp16 models), or null for the model's own.</summary>
    public string? VaeFolder { get; init; }

    /// <summary>
    /// Where SEG-patched UNets are cached, keyed by UNet hash, layers and patch version. Defaults to
    /// <c>$XDG_CACHE_HOME/seg/patched-unet</c> (or <c>~/.cache/seg/patched-unet</c>).
    /// </summary>
    public string PatchCacheFolder { get; init; } = DefaultCacheFolder("patched-unet");

    /// <summary>
    /// How SEG-patched UNets are called. <see cref="SegPatchMode.Forked"/> (the default) runs the part of the UNet
    /// before the first blurred layer once for the conditional and blurred branches; <see cref="SegPatchMode.Batched"/>
    /// runs every item through the whole UNet and is the reference the forked mode equals.
    /// </summary>
    public SegPatchMode SegPatchMode { get; init; } = SegPatchMode.Forked;

    /// <summary>Receives warnings for the user (truncated prompts, provider fallback).</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>The per-user cache folder of seg, with <paramref name="name"/> appended.</summary>
    public static string DefaultCacheFolder(string name)
    {
        var root = Environment.GetEnvironmentVariable("SEG_CACHE_DIR");
        if (string.IsNullOrEmpty(root))
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            root = Path.Combine(
                string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg,
                "seg");
        }
        return Path.Combine(root, name);
    }
}
