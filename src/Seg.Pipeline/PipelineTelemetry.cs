using System.Diagnostics;

namespace Seg.Pipeline;

/// <summary>
/// Spans for the stages of a render (text encoding, denoising, VAE decoding). The farm's tracing listens to
/// <see cref="SourceName"/>; with nobody listening, <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null and costs next to nothing.
/// </summary>
public static class PipelineTelemetry
{
    /// <summary>Name of the activity source.</summary>
    public const string SourceName = "Seg.Pipeline";

    /// <summary>The pipeline's activity source.</summary>
    public static readonly ActivitySource ActivitySource = new(SourceName);
}
