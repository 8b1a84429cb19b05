using Seg.Parameters;

namespace Seg.Pipeline.Schedulers;

/// <summary>Creates schedulers by the names users pick.</summary>
public static class SchedulerFactory
{
    /// <summary>The scheduler names, in the order they are offered (<see cref="SchedulerNames.All"/>).</summary>
    public static IReadOnlyList<string> Names => SchedulerNames.All;

    /// <summary>Creates a scheduler for one render.</summary>
    /// <param name="name">
    /// One of <see cref="Names"/>. <c>euler</c> follows the config's use_karras_sigmas; <c>dpmpp_2m</c> and
    /// <c>dpmpp_2m_karras</c> set it by their name.
    /// </param>
    /// <param name="config">The model's scheduler config.</param>
    /// <param name="steps">Number of denoising steps (&gt; 0).</param>
    /// <exception cref="ArgumentException">Unknown name, or steps out of range.</exception>
    public static IDiffusionScheduler Create(string name, SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        return name switch
        {
            SchedulerNames.Euler => new EulerDiscreteScheduler(config, steps),
            SchedulerNames.EulerAncestral => new EulerAncestralDiscreteScheduler(config, steps),
            SchedulerNames.Ddim => new DdimScheduler(config, steps),
            SchedulerNames.DpmSolverMultistep => new DpmSolverMultistepScheduler(config with { UseKarrasSigmas = false }, steps),
            SchedulerNames.DpmSolverMultistepKarras => new DpmSolverMultistepScheduler(config with { UseKarrasSigmas = true }, steps),
            _ => throw new ArgumentException(
                $"scheduler must be one of {string.Join(", ", Names)} (got '{name}')", nameof(name)),
        };
    }
}
