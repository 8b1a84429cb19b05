namespace Seg.Contracts.Sweeps;

/// <summary>
/// The limits of a sweep as a whole that a deployment may set (task count, prompt lengths); the defaults suit a farm.
/// The limits of each render parameter (sizes, steps) are fixed in <c>Seg.Parameters.ParameterDefinitions</c>.
/// </summary>
public sealed record SweepLimits
{
    /// <summary>The default limits.</summary>
    public static SweepLimits Default { get; } = new();

    /// <summary>Most tasks (images) one sweep may expand to. Default 1,000,000.</summary>
    public long MaxTasksPerSweep { get; init; } = 1_000_000;

    /// <summary>Most prompts in one sweep. Default 10,000.</summary>
    public int MaxPrompts { get; init; } = 10_000;

    /// <summary>
    /// Longest prompt or negative prompt, in characters. Default 2,000: CLIP reads 75 tokens (a few hundred
    /// characters), so the cap only guards the database and the messages.
    /// </summary>
    public int MaxPromptLength { get; init; } = 2_000;

    /// <summary>Longest sweep name, in characters. Default 200.</summary>
    public int MaxNameLength { get; init; } = 200;

    /// <summary>Most tags on one sweep. Default 32: tags label a sweep; they are no store for data.</summary>
    public int MaxTags { get; init; } = 32;

    /// <summary>Longest tag name, in characters. Default 128.</summary>
    public int MaxTagKeyLength { get; init; } = 128;

    /// <summary>Longest tag value, in characters. Default 256 (every sweep list carries its tags).</summary>
    public int MaxTagValueLength { get; init; } = 256;

    /// <summary>
    /// Whether <c>model</c> and <c>vae</c> may be absolute paths. Default false: they name folders under the workers'
    /// model root (<see cref="Seg.Parameters.ModelNames"/>). The workers have the same switch (<c>Worker:AllowAbsoluteModelPaths</c>).
    /// </summary>
    public bool AllowAbsoluteModelPaths { get; init; }
}
