using System.CommandLine;
using System.Globalization;
using Seg.Cli.Farm;
using Spectre.Console;

namespace Seg.Cli.Commands;

/// <summary>
/// <c>seg run SWEEP.yaml</c>: renders a sweep. Standalone by default (coordinator and worker in this process,
/// in-memory transport, SQLite and a local image folder); with <c>--farm URL</c> it submits the sweep to a
/// coordinator and follows its progress.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var sweep = new Argument<string>("sweep") { Description = "The sweep file (YAML or JSON)." };
        var farm = new Option<string?>("--farm") { Description = "Coordinator URL: submit there and follow the progress instead of rendering here." };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "With --farm: a repeated submit with the same key returns the first sweep." };
        var apiKey = CliOptions.ApiKey();
        var output = new Option<string>("--out", "-o") { Description = "Standalone: folder for the images and the provenance database.", DefaultValueFactory = _ => "seg-run" };
        var device = CliOptions.Device();
        var slots = new Option<int>("--slots") { Description = "Standalone on the CPU: renders at once.", DefaultValueFactory = _ => 1 };
        var fallback = CliOptions.AllowCpuFallback();
        var fake = new Option<bool>("--fake-render")
        {
            Description = "Standalone: the worker's fake render (small gradient PNGs, full provenance, no model) instead of the pipeline; for benchmarks.",
        };
        var command = new Command("run", "Render a sweep: here (standalone), or on a farm with --farm URL.")
        {
            sweep, farm, idempotencyKey, apiKey, output, device, slots, fallback, fake,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sweepPath = Path.GetFullPath(parse.GetValue(sweep)!);
            if (!File.Exists(sweepPath))
            {
                throw new FileNotFoundException($"sweep: file '{sweepPath}' does not exist", sweepPath);
            }
            if (parse.GetValue(farm) is { } url)
            {
                return await RunOnFarmAsync(url, parse.GetValue(apiKey), sweepPath, parse.GetValue(idempotencyKey), cancellationToken);
            }
            return await StandaloneRun.RunAsync(sweepPath, Path.GetFullPath(parse.GetValue(output)!), parse.GetValue(device)!,
                parse.GetValue(slots), parse.GetValue(fallback), parse.GetValue(fake), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunOnFarmAsync(string url, string? apiKey, string sweepPath, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var http = FarmClient.CreateHttpClient(url, apiKey, TimeSpan.FromMinutes(2));
        var coordinator = http.BaseAddress!;
        var client = new FarmClient(http);
        var (sweep, created) = await client.SubmitAsync(sweepPath, idempotencyKey, cancellationToken);
        Console.Error.WriteLine(created
            ? $"submitted sweep {sweep.Id} ({sweep.TaskCount} images) to {coordinator}"
            : $"the idempotency key matches sweep {sweep.Id}; following it");
        var final = await FollowAsync(sweep, ct => client.GetAsync(sweep.Id, ct), cancellationToken);
        Console.Out.WriteLine($"sweep {final.Id}: {final.Status}, {final.Tasks.Succeeded} succeeded, {final.Tasks.Failed} failed, " +
                              $"{final.Tasks.Cancelled} cancelled, {final.GpuSeconds.ToString("F1", CultureInfo.InvariantCulture)} GPU-seconds");
        Console.Out.WriteLine($"images: {new Uri(coordinator, $"api/sweeps/{final.Id}/images")}");
        return final.Status == "succeeded" ? 0 : 1;
    }

    /// <summary>Polls the sweep until it ends, with a progress bar when the terminal is interactive.</summary>
    internal static async Task<FarmSweep> FollowAsync(FarmSweep first, Func<CancellationToken, Task<FarmSweep>> poll, CancellationToken cancellationToken)
    {
        var current = first;
        if (Console.IsErrorRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var lastReported = -1;
            while (!current.IsFinished)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                current = await poll(cancellationToken);
                var ended = current.Tasks.Succeeded + current.Tasks.Failed + current.Tasks.Cancelled;
                if (ended != lastReported)
                {
                    Console.Error.WriteLine($"{ended}/{current.TaskCount} images ({current.Tasks.Failed} failed)");
                    lastReported = ended;
                }
            }
            return current;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"sweep {current.Name}", maxValue: current.TaskCount);
                while (!current.IsFinished)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                    current = await poll(cancellationToken);
                    task.Value = current.Tasks.Succeeded + current.Tasks.Failed + current.Tasks.Cancelled;
                    task.Description = $"sweep {current.Name}: {current.Tasks.Running} rendering, {current.Tasks.Failed} failed";
                }
                task.Value = task.MaxValue;
            });
        return current;
    }
}
