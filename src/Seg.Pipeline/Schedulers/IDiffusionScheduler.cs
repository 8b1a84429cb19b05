using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Schedulers;

/// <summary>
/// One denoising schedule for one render, as a diffusers scheduler after <c>set_timesteps</c>. Schedulers keep
/// state between steps (DPM-Solver++ remembers the previous model output), so create one per render and image.
/// </summary>
public interface IDiffusionScheduler
{
    /// <summary>The scheduler's name in <see cref="SchedulerFactory.Names"/>.</summary>
    string Name { get; }

    /// <summary>What the UNet receives at each step (diffusers' <c>scheduler.timesteps</c>), one per step.</summary>
    IReadOnlyList<float> Timesteps { get; }

    /// <summary>The standard deviation of the initial noise: latents = randn * InitNoiseSigma.</summary>
    float InitNoiseSigma { get; }

    /// <summary>Scales the latents into the UNet's input for step <paramref name="stepIndex"/>.</summary>
    /// <param name="sample">The current latents.</param>
    /// <param name="stepIndex">Index into <see cref="Timesteps"/>.</param>
    /// <param name="destination">Receives the UNet input; as long as <paramref name="sample"/>.</param>
    void ScaleModelInput(ReadOnlySpan<float> sample, int stepIndex, Span<float> destination);

    /// <summary>Advances the latents in place by one step, given the (guided) model output.</summary>
    /// <param name="modelOutput">The model output for this step (noise or v, per the config's prediction type).</param>
    /// <param name="stepIndex">Index into <see cref="Timesteps"/>.</param>
    /// <param name="sample">The latents, updated in place.</param>
    /// <param name="generator">
    /// The generator that drew the initial latents; ancestral schedulers draw each step's noise from it, as
    /// diffusers does. Deterministic schedulers ignore it.
    /// </param>
    void Step(ReadOnlySpan<float> modelOutput, int stepIndex, Span<float> sample, TorchGenerator generator);
}
