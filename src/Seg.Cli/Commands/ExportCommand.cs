using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Cli.Farm;
using Seg.Export;
using Seg.Parameters;
using Seg.Storage;
using Seg.Storage.Blobs;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg export SOURCE --format imagefolder|webdataset|parquet --out DIR</c>: a sweep as a dataset. SOURCE is a
/// standalone run folder (<c>seg run</c>'s <c>provenance.db</c> and <c>images/</c>); with <c>--farm URL --sweep ID</c>
/// the images come from the coordinator's export stream. The export itself is <see cref="DatasetExporter"/>'s.
/// </summary>
internal static class ExportCommand
{
    /// <summary>The provenance database of a standalone run folder.</summary>
    public const string DatabaseFile = "provenance.db";

    /// <summary>The image folder of a standalone run folder.</summary>
    public const string ImagesFolder = "images";

    public static Command Create()
    {
        var source = new Argument<string?>("source") { Description = "A standalone run folder (seg run --out). Leave out with --farm.", Arity = ArgumentArity.ZeroOrOne };
        var format = new Option<string>("--format", "-f") { Description = $"The dataset format: {string.Join(", ", ExportFormats.Names)}.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The folder to write; it must be empty or new, unless --resume.", Required = true };
        var farm = new Option<string?>("--farm") { Description = "Coordinator URL: export a sweep of the farm (with --sweep)." };
        var sweep = new Option<string?>("--sweep") { Description = "The sweep's id; in a run folder with one sweep it may be left out." };
        var apiKey = CliOptions.ApiKey();
        var splitBy = new Option<string?>("--split-by") { Description = "imagefolder: one folder per value of this parameter (such as seg_blur_sigma)." };
        var shardSize = new Option<string?>("--shard-size") { Description = "webdataset, parquet: images per shard (1000) or bytes (500MB, 1GiB). Default: 500MB." };
        var rowGroup = new Option<int>("--row-group-size")
        {
            Description = "parquet: most rows per row group (row groups also stop at 64 MiB of PNG).",
            DefaultValueFactory = _ => ExportOptions.DefaultRowGroupRows,
        };
        var name = new Option<string?>("--name") { Description = "webdataset, parquet: shard name, NAME-000000.tar. Default: the sweep's name." };
        var status = new Option<string[]>("--status") { Description = "Only tasks of these statuses (succeeded, failed, ...; repeat or comma-separate).", AllowMultipleArgumentsPerToken = true };
        var where = new Option<string[]>("--where") { Description = "Only images whose parameter has this value, PARAMETER=VALUE (seg_scale=3, seg_blur_sigma=inf); repeatable." };
        var resume = new Option<bool>("--resume") { Description = "Go on with an export in --out: write only the images not exported yet." };
        var command = new Command("export", "Export a sweep as a dataset: Hugging Face ImageFolder, WebDataset shards or Parquet.")
        {
            source, format, output, farm, sweep, apiKey, splitBy, shardSize, rowGroup, name, status, where, resume,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ExportOptions(ExportFormats.Parse(parse.GetValue(format), "--format"), Path.GetFullPath(parse.GetValue(output)!))
            {
                Filter = ExportFilter.Parse(parse.GetValue(status), parse.GetValue(where)),
                Name = parse.GetValue(name),
                RowGroupRows = parse.GetValue(rowGroup),
                ShardSize = parse.GetValue(shardSize) is { } size ? ShardSize.Parse(size) : ShardSize.Default,
                SplitBy = parse.GetValue(splitBy) is { } split
                    ? ParameterDefinitions.Find(split) ?? throw new ExportException($"--split-by: unknown parameter '{split}'; use one of {string.Join(", ", ParameterDefinitions.All.Select(p => p.Name))}")
                    : null,
                Resume = parse.GetValue(resume),
            };
            var sweepId = parse.GetValue(sweep) is { } text ? ParseSweepId(text) : (Guid?)null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = parse.GetValue(farm) is { } url
                ? await FromFarmAsync(url, parse.GetValue(apiKey), parse.GetValue(source), sweepId, options, cancellationToken)
                : await FromRunFolderAsync(parse.GetValue(source), sweepId, options, cancellationToken);
            var seconds = clock.Elapsed.TotalSeconds;
            Console.Out.WriteLine($"exported {result.Exported} images ({result.Skipped} exported before) as {ExportFormats.Name(options.Format)} into {options.OutputFolder}");
            Console.Error.WriteLine(FormattableString.Invariant($"in {seconds:F2} s ({result.Exported / Math.Max(seconds, 1e-9):F0} images/s)"));
            foreach (var file in result.Files)
            {
                Console.Out.WriteLine($"  {file}");
            }
            return 0;
        });
        return command;
    }

    private static Guid ParseSweepId(string text) =>
        Guid.TryParse(text, out var id) ? id : throw new ExportException($"--sweep: must be a sweep id (a UUID) (got '{text}')");

    private static async Task<ExportResult> FromRunFolderAsync(string? source, Guid? sweepId, ExportOptions options, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new ExportException("source: give a standalone run folder, or --farm URL --sweep ID");
        }
        var folder = Path.GetFullPath(source);
        var database = Path.Combine(folder, DatabaseFile);
        if (!File.Exists(database))
        {
            throw new ExportException($"source: '{folder}' is not a standalone run folder (it has no {DatabaseFile}; seg run --out writes one)");
        }

        var services = new ServiceCollection();
        services.AddSegStorageSqlite(database, Path.Combine(folder, ImagesFolder));
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        var id = sweepId ?? await OnlySweepAsync(db, folder, cancellationToken);
        var input = await DatabaseExportSource.OpenAsync(db, scope.ServiceProvider.GetRequiredService<IImageBlobStore>(), id, cancellationToken);
        return await DatasetExporter.ExportAsync(input, id, options, cancellationToken);
    }

    private static async Task<Guid> OnlySweepAsync(SegDbContext db, string folder, CancellationToken cancellationToken)
    {
        var sweeps = await db.Sweeps.AsNoTracking().OrderBy(s => s.CreatedAt).Select(s => new { s.Id, s.Name }).Take(10).ToListAsync(cancellationToken);
        return sweeps.Count switch
        {
            1 => sweeps[0].Id,
            0 => throw new ExportException($"source: '{folder}' holds no sweep"),
            _ => throw new ExportException($"--sweep: '{folder}' holds several sweeps; choose one: {string.Join(", ", sweeps.Select(s => $"{s.Id} ({s.Name})"))}"),
        };
    }

    private static async Task<ExportResult> FromFarmAsync(string url, string? apiKey, string? source, Guid? sweepId, ExportOptions options, CancellationToken cancellationToken)
    {
        if (source is not null)
        {
            throw new ExportException($"source: give either a run folder or --farm, not both (got '{source}' and --farm {url})");
        }
        var id = sweepId ?? throw new ExportException("--sweep: the sweep's id is required with --farm");
        // No timeout: the stream of a large sweep takes as long as it takes; cancellation (Ctrl+C) ends it.
        using var http = FarmClient.CreateHttpClient(url, apiKey, Timeout.InfiniteTimeSpan);
        var client = new FarmClient(http);
        var sweep = await client.GetAsync(id, cancellationToken);
        return await DatasetExporter.ExportAsync(new FarmExportSource(client, sweep), id, options, cancellationToken);
    }
}
