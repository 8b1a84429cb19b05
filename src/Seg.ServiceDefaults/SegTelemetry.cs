using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Seg.ServiceDefaults;

/// <summary>The activity source and meter that Seg farm's own code traces and measures with.</summary>
public static class SegTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "Seg";

    /// <summary>Spans for sweeps, dispatch, renders, uploads and provenance.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Counters and histograms (tasks, render seconds).</summary>
    public static readonly Meter Meter = new(Name);
}
