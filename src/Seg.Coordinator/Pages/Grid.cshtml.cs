using Microsoft.AspNetCore.Mvc;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Web;

namespace Seg.Coordinator.Pages;

/// <summary>
/// A sweep's grid: row and column axes chosen among the swept fields, the others fixed by selectors, one thumbnail per
/// cell labelled on both axes, each opening its image. Arrow keys walk the cells.
/// </summary>
/// <param name="queries">The pages' queries.</param>
public sealed class GridModel(WebQueries queries) : SegPageModel
{
    /// <summary>Most values a selector lists (a long seed range is chosen by typing the value).</summary>
    public const int MaxSelectorValues = 200;

    /// <summary>The sweep.</summary>
    public Guid SweepId { get; private set; }

    /// <summary>The sweep's name.</summary>
    public string Name { get; private set; } = "";

    /// <summary>The grid, or null when the query is not valid (see <see cref="Errors"/>).</summary>
    public GridView? Grid { get; private set; }

    /// <summary>The grid's tasks by index.</summary>
    public IReadOnlyDictionary<int, GridTask> Tasks { get; private set; } = new Dictionary<int, GridTask>();

    /// <summary>What is wrong with the query, by parameter.</summary>
    public IReadOnlyList<ValidationError> Errors { get; private set; } = [];

    /// <summary>The sweep's varied fields (for the selectors, even when the query is not valid).</summary>
    public IReadOnlyList<SweepAxis> Axes { get; private set; } = [];

    /// <summary>Loads the grid; 404 for no sweep, 400 with the errors shown for a bad query.</summary>
    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken cancellationToken)
    {
        SweepId = id;
        var definition = await queries.DefinitionAsync(id, cancellationToken).ConfigureAwait(false);
        if (definition is null)
        {
            return NotFound();
        }

        Name = definition.Name is { Length: > 0 } name ? name : id.ToString();
        var errors = new List<ValidationError>();
        Grid = GridView.From(definition, Request.Query.Where(q => q.Key != "handler"), errors);
        Errors = errors;
        Axes = Grid?.Grid.Axes ?? new SweepGrid(definition).Axes;
        if (Grid is null)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        Tasks = await queries.TasksAtAsync(id, [.. Grid.Cells.Select(c => c.TaskIndex)], cancellationToken).ConfigureAwait(false);
        return Page();
    }

    /// <summary>The value index an axis is fixed at in this grid (0 when it is a row or column axis).</summary>
    public long FixedIndex(SweepAxis axis) => Grid?.Fixed.FirstOrDefault(f => f.Axis.Name == axis.Name).Index ?? 0;
}
