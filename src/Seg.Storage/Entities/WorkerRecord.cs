namespace Seg.Storage.Entities;

/// <summary>Last known state of a worker, refreshed by its heartbeats.</summary>
public sealed class WorkerRecord
{
    /// <summary>Worker id (stable per process, e.g. the pod name).</summary>
    public string WorkerId { get; set; } = "";

    /// <summary>Host name.</summary>
    public string Host { get; set; } = "";

    /// <summary>Devices of the worker as a JSON array (jsonb).</summary>
    public string DevicesJson { get; set; } = "[]";

    /// <summary>How many tasks the worker runs at once (one per GPU).</summary>
    public int Slots { get; set; }

    /// <summary>How many slots are busy.</summary>
    public int Busy { get; set; }

    /// <summary>Models whose sessions are cached, as a JSON array (jsonb).</summary>
    public string ModelsCachedJson { get; set; } = "[]";

    /// <summary>Tasks finished successfully since the worker started.</summary>
    public long TasksDone { get; set; }

    /// <summary>Tasks failed since the worker started.</summary>
    public long TasksFailed { get; set; }

    /// <summary>Recent throughput in images per minute.</summary>
    public double ImagesPerMinute { get; set; }

    /// <summary>Software version of the worker.</summary>
    public string Version { get; set; } = "";

    /// <summary>Time of the last heartbeat (UTC).</summary>
    public DateTimeOffset LastHeartbeatAt { get; set; }

    /// <summary>Time of the first heartbeat (UTC).</summary>
    public DateTimeOffset FirstSeenAt { get; set; }
}
