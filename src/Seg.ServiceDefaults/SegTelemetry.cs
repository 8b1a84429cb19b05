using System.Diagnostics;
using System.Diagnostics.Metrics;
using Seg.Parameters;

namespace Seg.ServiceDefaults;

/// <summary>
/// The activity source and meter that Seg farm's own code traces and measures with, and the span attributes every
/// task span carries (one place for their names, so traces and dashboards agree).
/// </summary>
public static class SegTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "Seg";

    /// <summary>The pipeline's own activity source (text encoding, denoising, VAE), which has no dependency on this assembly.</summary>
    public const string PipelineSourceName = "Seg.Pipeline";

    /// <summary>Spans for sweeps, dispatch, renders, uploads and provenance.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Counters and histograms (tasks, render seconds).</summary>
    public static readonly Meter Meter = new(Name);

    /// <summary>Span attribute: the sweep id.</summary>
    public const string SweepIdTag = "seg.sweep.id";

    /// <summary>Span attribute: the task id.</summary>
    public const string TaskIdTag = "seg.task.id";

    /// <summary>
    /// Starts a span of the task's own trace: the child of <paramref name="traceParent"/> (the task's submit span, kept
    /// in the task row) when there is one, else of the current span. Links to the current span (a dispatch round, say) so
    /// the batch that carried the task stays one click away.
    /// </summary>
    /// <param name="name">Span name.</param>
    /// <param name="kind">Span kind.</param>
    /// <param name="traceParent">W3C <c>traceparent</c> of the task, or null.</param>
    /// <returns>The started span, or null when nobody listens.</returns>
    public static Activity? StartTaskActivity(string name, ActivityKind kind, string? traceParent)
    {
        if (traceParent is null || !ActivityContext.TryParse(traceParent, null, out var parent))
        {
            return ActivitySource.StartActivity(name, kind);
        }

        ActivityLink[]? links = Activity.Current is { } current ? [new ActivityLink(current.Context)] : null;
        return ActivitySource.StartActivity(name, kind, parent, links: links);
    }

    /// <summary>
    /// Starts the root span of a new trace (one per task), linked to the current span (the submit request, whose trace
    /// would otherwise hold every task of a sweep).
    /// </summary>
    /// <param name="name">Span name.</param>
    /// <param name="kind">Span kind.</param>
    /// <returns>The started span (the caller disposes it), or null when nobody listens.</returns>
    public static Activity? StartRootActivity(string name, ActivityKind kind)
    {
        // Called once per task of a submit (a million times for a large sweep): with nobody listening, skip the two
        // writes of Activity.Current, each a copy of the execution context.
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        // StartActivity takes the current span as parent when given none: clear it for the call, then put it back.
        Activity.Current = null;
        try
        {
            ActivityLink[]? links = current is null ? null : [new ActivityLink(current.Context)];
            return ActivitySource.StartActivity(name, kind, default(ActivityContext), links: links);
        }
        finally
        {
            Activity.Current = current;
        }
    }

    /// <summary>The W3C <c>traceparent</c> of <paramref name="activity"/>, to store and continue the trace later.</summary>
    /// <param name="activity">A span, or null.</param>
    /// <returns>The traceparent, or null.</returns>
    public static string? TraceParentOf(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    /// <summary>Sets the task's attributes: sweep and task id, model, seed, blur sigma and the scales.</summary>
    /// <param name="activity">The span, or null (then nothing happens).</param>
    /// <param name="taskId">Task id.</param>
    /// <param name="sweepId">Sweep id.</param>
    /// <param name="parameters">The task's render parameters.</param>
    public static void SetTaskTags(Activity? activity, Guid taskId, Guid sweepId, RenderParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(SweepIdTag, sweepId.ToString());
        activity.SetTag(TaskIdTag, taskId.ToString());
        activity.SetTag("seg.model", parameters.Model);
        activity.SetTag("seg.seed", parameters.Seed);
        // Infinite blur is a number PromQL and JSON exporters cannot all carry: its text form ("inf") instead.
        activity.SetTag("seg.seg_blur_sigma", SegBlurSigma.Format(parameters.SegBlurSigma));
        activity.SetTag("seg.seg_scale", parameters.SegScale);
        activity.SetTag("seg.guidance_scale", parameters.GuidanceScale);
        activity.SetTag("seg.steps", parameters.Steps);
    }
}
