using Seg.Contracts.Messages;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Expands a sweep to the full product of its lists, one <see cref="RenderTaskSpec"/> per image.
/// <para>
/// Order: task indices count through the lists like the digits of a number, the first list slowest:
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
        foreach (var (_, length) in Axes(definition))
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
    public static RenderTaskSpec TaskAt(Guid sweepId, SweepDefinition definition, long taskIndex)
    {
        var grid = new Grid(definition);
        ArgumentOutOfRangeException.ThrowIfNegative(taskIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(taskIndex, grid.Count);
        return grid.TaskAt(sweepId, taskIndex);
    }

    /// <summary>The swept lists with their lengths, slowest first: the expansion order.</summary>
    internal static (string Name, long Length)[] Axes(SweepDefinition definition) =>
    [
        ("prompts", definition.Prompts.Count),
        ("seeds", definition.Seeds.Count),
        ("size", definition.Size.Count),
        ("steps", definition.Steps.Count),
        ("scheduler", definition.Scheduler.Count),
        ("guidance_scale", definition.GuidanceScale.Count),
        ("seg_layers", definition.SegLayers.Count),
        ("seg_blur_sigma", definition.SegBlurSigma.Count),
        ("seg_scale", definition.SegScale.Count),
    ];

    private static IEnumerable<RenderTaskSpec> Stream(Guid sweepId, Grid grid, long firstTaskIndex)
    {
        for (var index = firstTaskIndex; index < grid.Count; index++)
        {
            yield return grid.TaskAt(sweepId, index);
        }
    }

    /// <summary>The sweep's lists, resolved once (sizes parsed), and the digits of a task index.</summary>
    private sealed class Grid
    {
        private readonly SweepDefinition _definition;
        private readonly ImageSize[] _sizes;

        public Grid(SweepDefinition definition)
        {
            ArgumentNullException.ThrowIfNull(definition);
            _definition = definition;
            _sizes = [.. definition.Size.Select((text, i) => ImageSize.TryParse(text, out var size)
                ? size
                : throw new ArgumentException($"size[{i}] must be WIDTHxHEIGHT such as 1024x1024 (got '{text}')", nameof(definition)))];
            Count = CountTasks(definition);
            if (Count == long.MaxValue)
            {
                throw new ArgumentException("the sweep expands to more than 2^63-1 tasks; validate it first", nameof(definition));
            }
        }

        public long Count { get; }

        public RenderTaskSpec TaskAt(Guid sweepId, long taskIndex)
        {
            var d = _definition;
            var rest = taskIndex;
            // The last list varies fastest: peel digits off from the fastest to the slowest.
            var segScale = d.SegScale[Digit(ref rest, d.SegScale.Count)];
            var segBlurSigma = d.SegBlurSigma[Digit(ref rest, d.SegBlurSigma.Count)];
            var segLayers = d.SegLayers[Digit(ref rest, d.SegLayers.Count)];
            var guidanceScale = d.GuidanceScale[Digit(ref rest, d.GuidanceScale.Count)];
            var scheduler = d.Scheduler[Digit(ref rest, d.Scheduler.Count)];
            var steps = d.Steps[Digit(ref rest, d.Steps.Count)];
            var size = _sizes[Digit(ref rest, _sizes.Length)];
            var seedIndex = rest % d.Seeds.Count;
            rest /= d.Seeds.Count;
            var prompt = d.Prompts[(int)rest];
            var parameters = new RenderParameters
            {
                Model = d.Model,
                Vae = string.IsNullOrWhiteSpace(d.Vae) ? null : d.Vae,
                Prompt = prompt,
                NegativePrompt = d.NegativePrompt,
                Seed = d.Seeds[seedIndex],
                Width = size.Width,
                Height = size.Height,
                Steps = steps,
                Scheduler = scheduler,
                GuidanceScale = guidanceScale,
                GuidanceRescale = d.GuidanceRescale,
                SegScale = segScale,
                SegBlurSigma = segBlurSigma,
                SegLayers = segLayers,
                SegWindowStart = d.SegWindow.Start,
                SegWindowStop = d.SegWindow.Stop,
            };
            return new RenderTaskSpec(TaskIds.For(sweepId, taskIndex), sweepId, taskIndex, parameters);
        }

        private static int Digit(ref long rest, int radix)
        {
            var digit = (int)(rest % radix);
            rest /= radix;
            return digit;
        }
    }
}
