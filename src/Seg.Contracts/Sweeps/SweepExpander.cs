using Seg.Parameters;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Expands a sweep to the full product of its lists, one <see cref="RenderTaskSpec"/> per image.
/// <para>
/// Order: task indices count through the lists like the digits of a number, the first list slowest, in the order of
/// <see cref="SweepAxes.Of"/> (the parameters' <see cref="ParameterSweep.Order"/>):
/// prompts, seeds, size, steps, scheduler, guidance_scale, seg_layers, seg_blur_sigma, seg_scale (fastest).
/// So task 0 takes the first value of every list, task 1 the second seg_scale, and the images of one prompt
/// and seed, which differ only in their settings, sit next to each other (a comparison grid fills in early).
/// </para>
/// <para>
/// Expansion streams: a task is computed from its index alone (mixed-radix digits), so a sweep of a million
/// tasks builds no intermediate list, and <see cref="TaskAt"/> finds any task directly. The definition must have
/// passed <see cref="SweepValidator"/>; what cannot be resolved (an unreadable size) throws.
/// </para>
/// </summary>
public static class SweepExpander
{
    /// <summary>
    /// The number of tasks: the product of the list lengths (a seed range counts its length). Saturates at
    /// <see cref="long.MaxValue"/>, far beyond any task limit, instead of overflowing.
    /// </summary>
    public static long CountTasks(SweepDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        long count = 1;
        foreach (var length in SweepAxes.Of(definition).Select(axis => axis.Count))
        {
            if (length <= 0)
            {
                return 0;
            }
            count = count > long.MaxValue / length ? long.MaxValue : count * length;
        }
        return count;
    }

    /// <summary>Streams the tasks of a sweep in the documented order, from <paramref name="firstTaskIndex"/> on.</summary>
    /// <param name="sweepId">The sweep's id, the namespace of the task ids.</param>
    /// <param name="definition">A sweep that passed validation.</param>
    /// <param name="firstTaskIndex">Where to start (to resume an expansion); 0 for all tasks.</param>
    public static IEnumerable<RenderTaskSpec> Expand(Guid sweepId, SweepDefinition definition, long firstTaskIndex = 0)
    {
        var grid = new Grid(definition);
        ArgumentOutOfRangeException.ThrowIfNegative(firstTaskIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstTaskIndex, grid.Count);
        return Stream(sweepId, grid, firstTaskIndex);
    }

    /// <summary>The task at <paramref name="taskIndex"/>, as <see cref="Expand"/> would give it.</summary>
    public static RenderTaskSpec TaskAt(Guid sweepId, SweepDefinition definition, long taskIndex) =>
        Lookup(sweepId, definition)(taskIndex);

    /// <summary>
    /// The tasks of one sweep by index, with the axes resolved once: for callers that look up many tasks of a sweep
    /// (the dispatcher rebuilds each task's parameters from the stored definition and the task's index).
    /// </summary>
    /// <param name="sweepId">The sweep's id, the namespace of the task ids.</param>
    /// <param name="definition">A sweep that passed validation.</param>
    /// <returns>The task at an index, as <see cref="Expand"/> would give it; an index outside the sweep throws.</returns>
    /// <exception cref="ArgumentException">The definition cannot be expanded (see <see cref="Expand"/>).</exception>
    public static Func<long, RenderTaskSpec> Lookup(Guid sweepId, SweepDefinition definition)
    {
        var grid = new Grid(definition);
        return taskIndex =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(taskIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(taskIndex, grid.Count);
            return grid.TaskAt(sweepId, taskIndex);
        };
    }

    private static IEnumerable<RenderTaskSpec> Stream(Guid sweepId, Grid grid, long firstTaskIndex)
    {
        for (var index = firstTaskIndex; index < grid.Count; index++)
        {
            yield return grid.TaskAt(sweepId, index);
        }
    }

    /// <summary>The sweep's axes, resolved once, and the parameters every task shares; a task sets only the axes that vary.</summary>
    private sealed class Grid
    {
        private readonly SweepAxis[] _varied;
        private readonly RenderParameters _first;

        public Grid(SweepDefinition definition)
        {
            ArgumentNullException.ThrowIfNull(definition);
            var axes = SweepAxes.Of(definition);
            Count = CountTasks(definition);
            if (Count == long.MaxValue)
            {
                throw new ArgumentException("the sweep expands to more than 2^63-1 tasks; validate it first", nameof(definition));
            }
            if (axes.FirstOrDefault(axis => axis.Unresolvable is not null) is { } unresolvable)
            {
                throw new ArgumentException(unresolvable.Unresolvable, nameof(definition));
            }
            // Every axis at its first value; an empty sweep has none.
            _first = Count == 0 ? SweepAxes.Fixed(definition) : axes.Aggregate(SweepAxes.Fixed(definition), (p, axis) => axis.Apply(p, 0));
            _varied = [.. axes.Where(axis => axis.IsVaried)];
        }

        public long Count { get; }

        public RenderTaskSpec TaskAt(Guid sweepId, long taskIndex)
        {
            var parameters = _first;
            var rest = taskIndex;
            // The last axis varies fastest: peel digits off from the fastest to the slowest.
            for (var i = _varied.Length - 1; i >= 0; i--)
            {
                var axis = _varied[i];
                parameters = axis.Apply(parameters, rest % axis.Count);
                rest /= axis.Count;
            }
            return new RenderTaskSpec(TaskIds.For(sweepId, taskIndex), sweepId, taskIndex, parameters);
        }
    }
}
