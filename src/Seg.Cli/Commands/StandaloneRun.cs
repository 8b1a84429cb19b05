using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Seg.Cli.Farm;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Sweeps;
using Seg.Pipeline;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Worker;

namespace Seg.Cli.Commands;

/// <summary>
/// The standalone farm: the coordinator's submitter, dispatcher and event consumers and the worker's consumer in
/// one process, on MassTransit's in-memory transport, SQLite and a local image folder. The same code paths as
/// the farm, so a sweep behaves here as it will on the GPUs.
/// </summary>
internal static class StandaloneRun
{
    /// <summary>Who submitted a standalone sweep, as its row records it.</summary>
    private const string StandaloneSubmitter = "standalone";

    /// <summary>The provenance database in a run's folder.</summary>
    public const string DatabaseFile = "provenance.db";

    /// <summary>The images folder in a run's folder.</summary>
    public const string ImagesFolder = "images";

    public static async Task<int> RunAsync(string sweepPath, string outputFolder, string device, int slots, bool allowCpuFallback, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(sweepPath, cancellationToken);
        // Check the sweep before anything is created: a rejected sweep leaves no database and no folder.
        var parsed = SweepParser.ParseAndValidate(text, sweepPath);
        if (!parsed.Succeeded)
        {
            throw Rejected(parsed.Errors);
        }
        var databasePath = Path.Combine(outputFolder, DatabaseFile);
        var imagesFolder = Path.Combine(outputFolder, ImagesFolder);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:WorkerId"] = $"{Environment.MachineName}-standalone",
            ["Worker:Devices:0"] = device,
            ["Worker:CpuSlots"] = slots.ToString(CultureInfo.InvariantCulture),
            ["Worker:AllowCpuFallback"] = allowCpuFallback.ToString(),
            // Model folders named in the sweep resolve next to the sweep file; "tiny" is the generated test model.
            ["Worker:ModelRoot"] = Path.GetDirectoryName(sweepPath),
            ["Worker:CacheFolder"] = Path.GetDirectoryName(PipelineOptions.DefaultCacheFolder("models")),
            ["Worker:DrainTimeoutSeconds"] = "10",
            // The in-memory bus forgets its messages when the process ends: a rerun on the same database resumes.
            ["Coordinator:RecoverInFlightAtStart"] = "true",
            ["Coordinator:MaxInFlight"] = Math.Max(2, 2 * slots).ToString(CultureInfo.InvariantCulture),
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        builder.Services.AddSegStorageSqlite(databasePath, imagesFolder);
        builder.Services.AddCoordinatorCore(builder.Configuration);
        builder.Services.AddWorkerServices(builder.Configuration);
        builder.Services.AddSegMassTransit(builder.Configuration, bus =>
        {
            bus.AddCoordinatorConsumers();
            bus.AddWorkerConsumers();
        }, inMemory: true);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);

        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            SweepSubmission submission;
            using (var scope = host.Services.CreateScope())
            {
                submission = await scope.ServiceProvider.GetRequiredService<SweepSubmitter>()
                    .SubmitAsync(text, sweepPath, idempotencyKey: null, submittedBy: StandaloneSubmitter, cancellationToken);
            }
            if (!submission.Succeeded)
            {
                throw Rejected(submission.Errors);
            }

            var sweepId = submission.Stored.SweepId;
            Console.Error.WriteLine($"rendering {submission.Stored.TaskCount} images on {device} ({slots} slot(s)) into {outputFolder}");
            var first = await SnapshotAsync(host.Services, sweepId, cancellationToken);
            var final = await RunCommand.FollowAsync(first, ct => SnapshotAsync(host.Services, sweepId, ct), cancellationToken);

            Console.Out.WriteLine($"sweep {final.Name}: {final.Status}, {final.Tasks.Succeeded} succeeded, {final.Tasks.Failed} failed, " +
                                  $"{final.GpuSeconds.ToString("F1", CultureInfo.InvariantCulture)} device-seconds");
            Console.Out.WriteLine($"images:     {imagesFolder}");
            Console.Out.WriteLine($"provenance: {databasePath} (SQLite: tables sweeps, render_tasks, images)");
            Console.Out.WriteLine($"browse:     seg serve {outputFolder}  (sweep, grid and image pages at {ServeCommand.DefaultUrl})");
            if (final.Tasks.Failed > 0)
            {
                await PrintFailuresAsync(host.Services, sweepId, cancellationToken);
            }
            return final.Status == "succeeded" ? 0 : 1;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static SweepRejectedException Rejected(IReadOnlyList<ValidationError> errors) =>
        new(errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Rule).ToArray()));

    private static async Task<FarmSweep> SnapshotAsync(IServiceProvider services, Guid sweepId, CancellationToken cancellationToken)
    {
        using var scope = services.CreateScope();
        var summary = await scope.ServiceProvider.GetRequiredService<SweepQueries>().GetAsync(sweepId, cancellationToken)
            ?? throw new InvalidOperationException($"sweep {sweepId} disappeared");
        var t = summary.Tasks;
        return new FarmSweep(summary.Id, summary.Name, summary.Status.ToString().ToLowerInvariant(), summary.TaskCount,
            new FarmTaskCounts(t.Pending, t.Queued, t.Running, t.Succeeded, t.Failed, t.Cancelled),
            summary.Progress, summary.EtaSeconds, summary.GpuSeconds);
    }

    private static async Task PrintFailuresAsync(IServiceProvider services, Guid sweepId, CancellationToken cancellationToken)
    {
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        var reasons = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            db.RenderTasks.Where(t => t.SweepId == sweepId && t.LastError != null).Select(t => t.LastError!).Distinct().Take(5),
            cancellationToken);
        foreach (var reason in reasons)
        {
            Console.Error.WriteLine($"failed: {reason}");
        }
    }
}
