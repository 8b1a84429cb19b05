using System.Runtime.CompilerServices;
using Seg.Export;

namespace Seg.Cli.Farm;

/// <summary>
/// A farm sweep's images from the coordinator's WebDataset export stream (<c>GET /api/sweeps/{id}/export</c>), read one
/// sample at a time; the filters go to the coordinator, which applies them to its database. Already exported samples
/// (<c>--resume</c>) are read past: the stream is one pass over the sweep.
/// </summary>
internal sealed class FarmExportSource(FarmClient client, FarmSweep sweep) : IExportSource
{
    public string SweepName => sweep.Name;

    public async IAsyncEnumerable<ExportSample> ReadAsync(ExportFilter filter, Func<string, bool> skip, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await client.OpenExportAsync(sweep.Id, ExportFormat.WebDataset, filter, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var sample in DatasetExporter.ReadWebDatasetAsync(stream, $"the farm's export of sweep {sweep.Id}", cancellationToken).ConfigureAwait(false))
            {
                if (!skip(sample.Key))
                {
                    yield return sample;
                }
            }
        }
    }
}
