namespace Seg.Contracts.Sweeps;

/// <summary>
/// A sweep seen as a grid of its varied fields: each task is one position (one value index per varied axis), and the
/// task index is that position read as a mixed-radix number, in the order <see cref="SweepExpander"/> counts (the first
/// axis slowest). So a grid page of <c>seg_blur_sigma x seg_scale</c> with the other fields fixed names its tasks
/// directly, without reading the sweep's other tasks.
/// </summary>
public sealed class SweepGrid
{
    private readonly long[] _strides;

    /// <summary>The grid of <paramref name="definition"/>.</summary>
    /// <param name="definition">A sweep that passed validation.</param>
    public SweepGrid(SweepDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        Axes = SweepAxes.Varied(definition);
        _strides = new long[Axes.Count];
        long stride = 1;
        for (var i = Axes.Count - 1; i >= 0; i--)
        {
            _strides[i] = stride;
            stride *= Axes[i].Count;
        }
    }

    /// <summary>The varied fields, slowest first: the candidate rows, columns and fixed selectors.</summary>
    public IReadOnlyList<SweepAxis> Axes { get; }

    /// <summary>The varied field named <paramref name="name"/> (<c>seg_scale</c>), or null.</summary>
    public SweepAxis? Find(string name) => Axes.FirstOrDefault(axis => axis.Name == name);

    /// <summary>The task index at a position: one value index per varied axis, in <see cref="Axes"/> order.</summary>
    /// <param name="position">Value indices, one per axis of <see cref="Axes"/>.</param>
    /// <returns>The task index.</returns>
    public long TaskIndexAt(IReadOnlyList<long> position)
    {
        ArgumentNullException.ThrowIfNull(position);
        ArgumentOutOfRangeException.ThrowIfNotEqual(position.Count, Axes.Count);
        long index = 0;
        for (var i = 0; i < Axes.Count; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(position[i]);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position[i], Axes[i].Count);
            index += position[i] * _strides[i];
        }

        return index;
    }

    /// <summary>The position of a task: one value index per varied axis, in <see cref="Axes"/> order.</summary>
    /// <param name="taskIndex">The task index.</param>
    /// <returns>Value indices.</returns>
    public long[] PositionOf(long taskIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(taskIndex);
        return [.. _strides.Select((stride, i) => taskIndex / stride % Axes[i].Count)];
    }
}
