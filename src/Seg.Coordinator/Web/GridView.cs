using Microsoft.Extensions.Primitives;
using Seg.Contracts.Sweeps;
using Seg.Parameters;

namespace Seg.Coordinator.Web;

/// <summary>One cell of a grid: its row and column, the task there, and the values that place it.</summary>
/// <param name="Row">Row, from 0.</param>
/// <param name="Column">Column, from 0.</param>
/// <param name="TaskIndex">The task at the cell.</param>
/// <param name="RowLabel">The row axis's value, as people write it ("" without a row axis).</param>
/// <param name="ColumnLabel">The column axis's value ("" without a column axis).</param>
public sealed record GridCell(int Row, int Column, int TaskIndex, string RowLabel, string ColumnLabel);

/// <summary>
/// A grid of a sweep as the page and the contact sheet show it: a row axis and a column axis among the varied fields
/// (<c>rows=seg_scale&amp;cols=seg_blur_sigma</c>, as in the paper's figures: sigma across, scale down), every other
/// varied field fixed at one value (<c>seeds=42&amp;prompts=a cat</c>; the first value when not given).
/// </summary>
public sealed class GridView
{
    /// <summary>Most cells one grid shows.</summary>
    public const int MaxCells = 400;

    /// <summary>The query parameter that names the row axis.</summary>
    public const string RowsParameter = "rows";

    /// <summary>The query parameter that names the column axis.</summary>
    public const string ColumnsParameter = "cols";

    private GridView(SweepGrid grid, SweepAxis? rows, SweepAxis? columns, IReadOnlyList<(SweepAxis Axis, long Index)> fixedAxes)
    {
        Grid = grid;
        Rows = rows;
        Columns = columns;
        Fixed = fixedAxes;
        var rowCount = (int)(rows?.Count ?? 1);
        var columnCount = (int)(columns?.Count ?? 1);
        var cells = new List<GridCell>(rowCount * columnCount);
        var position = new long[grid.Axes.Count];
        foreach (var (axis, index) in fixedAxes)
        {
            position[IndexOf(axis)] = index;
        }

        for (var r = 0; r < rowCount; r++)
        {
            for (var c = 0; c < columnCount; c++)
            {
                if (rows is not null)
                {
                    position[IndexOf(rows)] = r;
                }

                if (columns is not null)
                {
                    position[IndexOf(columns)] = c;
                }

                cells.Add(new GridCell(r, c, checked((int)grid.TaskIndexAt(position)), rows?.Label(r) ?? "", columns?.Label(c) ?? ""));
            }
        }

        Cells = cells;
    }

    /// <summary>The sweep's grid.</summary>
    public SweepGrid Grid { get; }

    /// <summary>The axis down the rows, or null for one row.</summary>
    public SweepAxis? Rows { get; }

    /// <summary>The axis across the columns, or null for one column.</summary>
    public SweepAxis? Columns { get; }

    /// <summary>The other varied fields with the value index each is fixed at.</summary>
    public IReadOnlyList<(SweepAxis Axis, long Index)> Fixed { get; }

    /// <summary>The cells, row by row.</summary>
    public IReadOnlyList<GridCell> Cells { get; }

    /// <summary>Number of rows.</summary>
    public int RowCount => (int)(Rows?.Count ?? 1);

    /// <summary>Number of columns.</summary>
    public int ColumnCount => (int)(Columns?.Count ?? 1);

    /// <summary>The fixed values as one line (<c>prompts = a cat, seeds = 42</c>), for titles and alt texts.</summary>
    public string FixedText => string.Join(", ", Fixed.Select(f => $"{f.Axis.Name} = {f.Axis.Label(f.Index)}"));

    /// <summary>The alt text of a cell: every value that places it.</summary>
    public string AltText(GridCell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var parts = new List<string>();
        if (Rows is not null)
        {
            parts.Add($"{Rows.Name} = {cell.RowLabel}");
        }

        if (Columns is not null)
        {
            parts.Add($"{Columns.Name} = {cell.ColumnLabel}");
        }

        if (Fixed.Count > 0)
        {
            parts.Add(FixedText);
        }

        return string.Join(", ", parts);
    }

    /// <summary>The query string that selects this grid (for links between the page and the contact sheet).</summary>
    public string Query() => string.Join("&", new[]
        {
            Rows is null ? null : $"{RowsParameter}={Uri.EscapeDataString(Rows.Name)}",
            Columns is null ? null : $"{ColumnsParameter}={Uri.EscapeDataString(Columns.Name)}",
        }
        .Concat(Fixed.Select(f => $"{Uri.EscapeDataString(f.Axis.Name)}={Uri.EscapeDataString(f.Axis.Label(f.Index))}"))
        .Where(part => part is not null));

    /// <summary>
    /// Reads a grid from a query: <c>rows</c> and <c>cols</c> name varied fields (defaults: <c>seg_scale</c> down and
    /// <c>seg_blur_sigma</c> across when swept, else the fastest varied fields), any other varied field given by name
    /// is fixed at that value.
    /// </summary>
    /// <param name="definition">The sweep.</param>
    /// <param name="query">The request's query.</param>
    /// <param name="errors">Filled with one error per bad parameter, naming it.</param>
    /// <returns>The grid, or null when <paramref name="errors"/> has entries.</returns>
    public static GridView? From(SweepDefinition definition, IEnumerable<KeyValuePair<string, StringValues>> query, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(errors);
        var grid = new SweepGrid(definition);
        var values = query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        var names = string.Join(", ", grid.Axes.Select(a => a.Name));

        SweepAxis? Axis(string parameter, SweepAxis? fallback)
        {
            if (!values.TryGetValue(parameter, out var name) || name.Length == 0)
            {
                return fallback;
            }

            var axis = grid.Find(name);
            if (axis is null)
            {
                errors.Add(new ValidationError(parameter, $"must be one of the swept fields {(names.Length == 0 ? "(none: the sweep varies nothing)" : names)} (got '{name}')"));
            }

            return axis;
        }

        var columns = Axis(ColumnsParameter, grid.Find(ParameterNames.SegBlurSigma) ?? grid.Axes.LastOrDefault());
        var rows = Axis(RowsParameter, grid.Find(ParameterNames.SegScale) is { } scale && scale != columns
            ? scale
            : grid.Axes.LastOrDefault(a => a != columns));
        if (rows is not null && rows == columns)
        {
            errors.Add(new ValidationError(RowsParameter, $"must differ from {ColumnsParameter} (both are '{rows.Name}')"));
        }

        var fixedAxes = new List<(SweepAxis, long)>();
        foreach (var axis in grid.Axes.Where(a => a != rows && a != columns))
        {
            long index = 0;
            if (values.TryGetValue(axis.Name, out var label) && label.Length > 0)
            {
                index = IndexOfLabel(axis, label);
                if (index < 0)
                {
                    errors.Add(new ValidationError(axis.Name, $"must be one of the sweep's values for {axis.Name} (got '{Shorten(label)}')"));
                    continue;
                }
            }

            fixedAxes.Add((axis, index));
        }

        if (errors.Count == 0 && (rows?.Count ?? 1) * (columns?.Count ?? 1) > MaxCells)
        {
            errors.Add(new ValidationError(RowsParameter, $"the grid must have at most {MaxCells} cells (got {rows?.Count ?? 1} x {columns?.Count ?? 1}); choose other axes"));
        }

        return errors.Count == 0 ? new GridView(grid, rows, columns, fixedAxes) : null;
    }

    /// <summary>Most values searched for a label (a seed range may be long; a grid of one seed is asked for by a value near its start).</summary>
    private const long MaxLabelSearch = 100_000;

    private static long IndexOfLabel(SweepAxis axis, string label)
    {
        for (long i = 0; i < Math.Min(axis.Count, MaxLabelSearch); i++)
        {
            if (axis.Label(i) == label)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "..." : text;

    private int IndexOf(SweepAxis axis)
    {
        for (var i = 0; i < Grid.Axes.Count; i++)
        {
            if (Grid.Axes[i] == axis)
            {
                return i;
            }
        }

        throw new ArgumentException($"{axis.Name} is not a varied field of the sweep", nameof(axis));
    }
}
