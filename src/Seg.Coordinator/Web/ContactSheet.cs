using Microsoft.Extensions.Options;
using SkiaSharp;

namespace Seg.Coordinator.Web;

/// <summary>
/// A grid as one PNG, laid out like the SEG paper's figures: a title with the fixed values, the column axis's name and
/// values across the top, the row axis's name (turned) and values down the left, one thumbnail per cell. Cells without
/// an image yet are grey with the task's status.
/// </summary>
/// <param name="thumbnails">The cells' thumbnails.</param>
/// <param name="options">Cell size (the thumbnail size) and the label font.</param>
public sealed class ContactSheet(Thumbnails thumbnails, IOptions<WebOptions> options)
{
    /// <summary>Space around the sheet, in pixels.</summary>
    public const int Margin = 16;

    /// <summary>Space between cells.</summary>
    public const int Gap = 6;

    /// <summary>Height of the title line.</summary>
    public const int TitleHeight = 30;

    /// <summary>Height (top) and width (left) of the band that names an axis.</summary>
    public const int AxisNameBand = 26;

    /// <summary>Height of the column labels.</summary>
    public const int ColumnLabelHeight = 24;

    /// <summary>Width of the row labels.</summary>
    public const int RowLabelWidth = 90;

    /// <summary>The sheet's size for <paramref name="rows"/> x <paramref name="columns"/> cells of <paramref name="cell"/> pixels.</summary>
    public static (int Width, int Height) SizeOf(int rows, int columns, int cell) => (
        (2 * Margin) + AxisNameBand + RowLabelWidth + (columns * cell) + ((columns - 1) * Gap),
        (2 * Margin) + TitleHeight + AxisNameBand + ColumnLabelHeight + (rows * cell) + ((rows - 1) * Gap));

    /// <summary>Draws the grid; <paramref name="tasks"/> are the grid's tasks by index.</summary>
    public async Task<byte[]> RenderAsync(string title, GridView grid, IReadOnlyDictionary<int, GridTask> tasks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(tasks);
        var cell = options.Value.ThumbnailSize;
        var (width, height) = SizeOf(grid.RowCount, grid.ColumnCount, cell);
        var pictures = new Dictionary<int, byte[]>();
        foreach (var task in tasks.Values.Where(t => t.HasImage))
        {
            pictures[task.TaskIndex] = await thumbnails.GetAsync(task.TaskId, cancellationToken).ConfigureAwait(false);
        }

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = File.Exists(options.Value.LabelFont) ? SKTypeface.FromFile(options.Value.LabelFont) : SKTypeface.Default;
        using var titleFont = new SKFont(typeface, 18);
        using var labelFont = new SKFont(typeface, 15);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grey = new SKPaint { Color = new SKColor(0xDD, 0xDD, 0xDD) };

        var gridLeft = Margin + AxisNameBand + RowLabelWidth;
        var gridTop = Margin + TitleHeight + AxisNameBand + ColumnLabelHeight;
        var gridWidth = (grid.ColumnCount * cell) + ((grid.ColumnCount - 1) * Gap);
        var gridHeight = (grid.RowCount * cell) + ((grid.RowCount - 1) * Gap);
        canvas.DrawText(title, Margin, Margin + 20, SKTextAlign.Left, titleFont, ink);
        if (grid.Columns is { } columns)
        {
            canvas.DrawText(columns.Name, gridLeft + (gridWidth / 2f), Margin + TitleHeight + 18, SKTextAlign.Center, labelFont, ink);
        }

        if (grid.Rows is { } rows)
        {
            canvas.Save();
            canvas.RotateDegrees(-90, Margin + 18, gridTop + (gridHeight / 2f));
            canvas.DrawText(rows.Name, Margin + 18, gridTop + (gridHeight / 2f), SKTextAlign.Center, labelFont, ink);
            canvas.Restore();
        }

        foreach (var c in grid.Cells)
        {
            var x = gridLeft + (c.Column * (cell + Gap));
            var y = gridTop + (c.Row * (cell + Gap));
            if (c.Row == 0 && grid.Columns is not null)
            {
                canvas.DrawText(c.ColumnLabel, x + (cell / 2f), gridTop - 7, SKTextAlign.Center, labelFont, ink);
            }

            if (c.Column == 0 && grid.Rows is not null)
            {
                canvas.DrawText(c.RowLabel, gridLeft - 8, y + (cell / 2f) + 5, SKTextAlign.Right, labelFont, ink);
            }

            var box = SKRect.Create(x, y, cell, cell);
            if (pictures.TryGetValue(c.TaskIndex, out var jpeg))
            {
                using var image = SKImage.FromEncodedData(jpeg);
                var scale = Math.Min((float)cell / image.Width, (float)cell / image.Height);
                var fitted = SKRect.Create(x + ((cell - (image.Width * scale)) / 2), y + ((cell - (image.Height * scale)) / 2), image.Width * scale, image.Height * scale);
                canvas.DrawImage(image, fitted, new SKSamplingOptions(SKCubicResampler.Mitchell));
            }
            else
            {
                canvas.DrawRect(box, grey);
                var status = tasks.TryGetValue(c.TaskIndex, out var task) ? task.Status.ToString().ToLowerInvariant() : "missing";
                canvas.DrawText(status, x + (cell / 2f), y + (cell / 2f), SKTextAlign.Center, labelFont, ink);
            }
        }

        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
