using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Seg.Cli.Farm;
using Seg.Contracts.Sweeps;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.IntegrationEvents;
using Seg.Coordinator.Sweeps;
using Seg.Parameters;
using Seg.Pipeline;
using Seg.Pipeline.TinyModel;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Storage.Tasks;
using Seg.Storage.Workers;
using Seg.Worker;
using Seg.Worker.Devices;
using Seg.Worker.Heartbeats;

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

    public static async Task<int> RunAsync(string sweepPath, string outputFolder, string device, int slots, bool allowCpuFallback, bool fakeRender, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(sweepPath, cancellationToken);
        // Check the sweep before anything is created: a rejected sweep leaves no database and no folder.
        var parsed = SweepParser.ParseAndValidate(text, sweepPath);
        if (!parsed.Succeeded)
        {
            throw Rejected(sweepPath, parsed.Errors);
        }
        // Model folders resolve next to the sweep file: a missing one is found now, not by every task at render time.
        var modelRoot = Path.GetDirectoryName(sweepPath)!;
        CheckModelFolders(sweepPath, parsed.Definition!, modelRoot);
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
            ["Worker:RenderMode"] = (fakeRender ? RenderMode.Fake : RenderMode.Pipeline).ToString(),
            // Model folders named in the sweep resolve next to the sweep file; "tiny" is the generated test model.
            ["Worker:ModelRoot"] = modelRoot,
            ["Worker:CacheFolder"] = Path.GetDirectoryName(PipelineOptions.DefaultCacheFolder("models")),
            ["Worker:DrainTimeoutSeconds"] = "10",
            // The in-memory bus forgets its messages when the process ends: a rerun on the same database resumes.
            ["Coordinator:RecoverInFlightAtStart"] = "true",
            ["Coordinator:MaxInFlight"] = Math.Max(2, 2 * slots).ToString(CultureInfo.InvariantCulture),
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options => options.SingleLine = true);
        // Logs are diagnostics: standard output keeps only the result lines.
        builder.Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
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
                throw Rejected(sweepPath, submission.Errors);
            }

            var sweepId = submission.Stored.SweepId;
            Console.Error.WriteLine($"rendering {submission.Stored.TaskCount} images on {device} ({slots} slot(s)) into {outputFolder}");
            var first = await SnapshotAsync(host.Services, sweepId, cancellationToken);
            var final = await RunCommand.FollowAsync(first, ct => SnapshotAsync(host.Services, sweepId, ct), cancellationToken);
            await WriteLastHeartbeatAsync(host.Services, cancellationToken);

            using var reportScope = host.Services.CreateScope();
            var outcomes = reportScope.ServiceProvider.GetRequiredService<SweepOutcomes>();
            Console.Out.WriteLine($"sweep {final.Name}: {final.Status}, {final.Tasks.Succeeded} succeeded, {final.Tasks.Failed} failed, " +
                                  $"{final.GpuSeconds.ToString("F1", CultureInfo.InvariantCulture)} GPU-seconds");
            Console.Out.WriteLine($"images:     {imagesFolder}");
            Console.Out.WriteLine($"provenance: {databasePath} (SQLite: tables {string.Join(", ", outcomes.TableNames())})");
            Console.Out.WriteLine($"browse:     seg serve {outputFolder}  (sweep, grid and image pages at {ServeCommand.DefaultUrl})");
            foreach (var reason in await outcomes.FailureReasonsAsync(sweepId, max: 5, cancellationToken))
            {
                Console.Error.WriteLine($"failed: {reason}");
            }
            return final.Status == "succeeded" ? 0 : 1;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static SweepRejectedException Rejected(string sweepPath, IReadOnlyList<ValidationError> errors) =>
        new($"sweep '{sweepPath}' is not valid", errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Rule).ToArray()));

    /// <summary>Refuses a sweep whose model or VAE folder does not exist under <paramref name="modelRoot"/>.</summary>
    private static void CheckModelFolders(string sweepPath, SweepDefinition sweep, string modelRoot)
    {
        var errors = new List<ValidationError>();
        foreach (var (field, name) in new[] { (ParameterNames.Model, sweep.Model), (ParameterNames.Vae, sweep.Vae) })
        {
            if (name is null || name.Trim() == TinyModelCache.ModelName)
            {
                continue;
            }
            var folder = Path.GetFullPath(Path.Combine(modelRoot, name.Trim()));
            if (!Directory.Exists(folder))
            {
                errors.Add(new ValidationError(field, $"folder '{folder}' does not exist (a standalone sweep's model folders are relative to the sweep file, or \"{TinyModelCache.ModelName}\")"));
            }
        }
        if (errors.Count > 0)
        {
            throw Rejected(sweepPath, errors);
        }
    }

    /// <summary>
    /// Records the worker as it is now that the sweep ended (its slots idle, every task counted): the last periodic
    /// heartbeat may date from the middle of the last render.
    /// </summary>
    private static async Task WriteLastHeartbeatAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var pool = services.GetRequiredService<PipelinePool>();
        // The sweep ends when the coordinator records the last task; the slot is released just after.
        using var idle = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (pool.BusySlots > 0 && !idle.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
        using var scope = services.CreateScope();
        var heartbeat = services.GetRequiredService<HeartbeatService>().Current();
        await scope.ServiceProvider.GetRequiredService<WorkerHeartbeatWriter>()
            .UpsertAsync(WorkerHeartbeatConsumer.ToRecord(heartbeat, services.GetRequiredService<TimeProvider>().GetUtcNow()), cancellationToken);
    }

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
}
