using Seg.Pipeline;

namespace Seg.Worker;

/// <summary>The software version the worker reports in heartbeats and provenance.</summary>
public static class WorkerVersion
{
    /// <summary>Seg farm's version (the pipeline's, which the worker ships with).</summary>
    public static string Current => SdxlPipeline.SoftwareVersion;
}
