using System.ComponentModel.DataAnnotations;

namespace Seg.Coordinator.Web;

/// <summary>The web pages' settings, bound from the <c>Web</c> configuration section.</summary>
public sealed record WebOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "Web";

    /// <summary>Longest side of a thumbnail in pixels (the grid's cells). Default 256.</summary>
    [Range(32, 1024)]
    public int ThumbnailSize { get; init; } = 256;

    /// <summary>JPEG quality of thumbnails, 1 .. 100. Default 85.</summary>
    [Range(1, 100)]
    public int ThumbnailQuality { get; init; } = 85;

    /// <summary>
    /// A TrueType font for the contact sheet's labels. Default: DejaVu Sans where Debian installs it, else the system's
    /// default typeface (SkiaSharp's Linux assets here carry no font configuration of their own).
    /// </summary>
    public string LabelFont { get; init; } = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    /// <summary>
    /// The pages only read: no pause, resume, cancel or requeue buttons (<c>seg serve</c> over a finished standalone run).
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>Seconds between the sweep page's progress updates. Default 2.</summary>
    [Range(1, 60)]
    public int ProgressIntervalSeconds { get; init; } = 2;
}
