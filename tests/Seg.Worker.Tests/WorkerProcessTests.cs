using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Seg.Contracts.Messages;
using Seg.Storage.Entities;
using Seg.Worker.Tests.Infrastructure;

namespace Seg.Worker.Tests;

/// <summary>
/// The worker as a process (<c>dotnet Seg.Worker.dll</c>), configured only through environment variables, as an
/// end-to-end test or a container runs it: two processes share a queue, and SIGTERM stops them cleanly.
/// </summary>
public sealed class WorkerProcessTests(WorkerTestEnvironment environment) : IClassFixture<WorkerTestEnvironment>
{
    private const int SigTerm = 15;

    [Fact]
    public async Task Two_worker_processes_share_the_queue_and_exit_cleanly_on_sigterm()
    {
        using var first = StartWorker("process-worker-1", ("Worker__RenderMode", "fake"), ("Worker__FakeRenderSeconds", "0.3"));
        using var second = StartWorker("process-worker-2", ("Worker__RenderMode", "fake"), ("Worker__FakeRenderSeconds", "0.3"));
        await using var sender = await HostedWorker.StartAsync(environment, "sender", s =>
        {
            // The test's own host only sends: it consumes another queue.
            s["Worker:QueueName"] = $"{environment.QueueName}-unused";
        });
        await first.WaitForOutputAsync("Bus started");
        await second.WaitForOutputAsync("Bus started");
        var tasks = await TestTasks.InsertAsync(environment, Enumerable.Range(0, 8).Select(i => TestTasks.Tiny(seed: i)).ToArray());
        foreach (var task in tasks)
        {
            await sender.SendAsync(environment.QueueName, task);
        }

        await Wait.UntilAsync(async () =>
        {
            await using var db = environment.CreateContext();
            return await db.RenderTasks.CountAsync(t => t.SweepId == tasks[0].SweepId && t.Status == RenderTaskStatus.Succeeded) == tasks.Count;
        }, "every task succeeded");
        await using (var db = environment.CreateContext())
        {
            var workers = await db.RenderTasks.Where(t => t.SweepId == tasks[0].SweepId).Select(t => t.WorkerId).Distinct().ToListAsync();
            Assert.Equal(["process-worker-1", "process-worker-2"], workers.Order());
            Assert.Equal(tasks.Count, await db.Images.CountAsync(i => i.SweepId == tasks[0].SweepId));
        }

        await Wait.UntilAsync(() => Task.FromResult(sender.Events.Of<WorkerHeartbeat>(h => h.WorkerId == "process-worker-2" && h.RenderMode == "fake").Count > 0),
            "a heartbeat of the second process");

        foreach (var worker in new[] { first, second })
        {
            Assert.Equal(0, Kill(worker.Process.Id, SigTerm));
        }

        foreach (var worker in new[] { first, second })
        {
            Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"exit after SIGTERM; output:\n{worker.Output}");
            Assert.Equal(0, worker.Process.ExitCode);
            Assert.Contains("Worker:RenderMode is fake", worker.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_task_whose_worker_process_is_killed_is_redelivered_taken_over_and_finished_once()
    {
        var task = (await TestTasks.InsertAsync(environment, TestTasks.Tiny(seed: 31)))[0];
        using (var doomed = StartWorker("doomed-worker", ("Worker__RenderMode", "fake"), ("Worker__FakeRenderSeconds", "120")))
        {
            await doomed.WaitForOutputAsync("Bus started");
            await using (var sender = await HostedWorker.StartAsync(environment, "sender", s => s["Worker:QueueName"] = $"{environment.QueueName}-unused"))
            {
                await sender.SendAsync(environment.QueueName, task);
            }

            await Wait.UntilAsync(async () =>
            {
                await using var db = environment.CreateContext();
                return await db.RenderTasks.AnyAsync(t => t.Id == task.TaskId && t.Status == RenderTaskStatus.Running && t.WorkerId == "doomed-worker");
            }, "the task running on the doomed worker");

            Assert.Equal(0, Kill(doomed.Process.Id, 9));
            Assert.True(await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        // The broker redelivers the unacknowledged message (flagged redelivered): the next worker takes the task
        // over from the dead one.
        await using var heir = await HostedWorker.StartAsync(environment, "heir-worker", s => s["Worker:RenderMode"] = "fake");
        await Wait.UntilAsync(async () =>
        {
            await using var db = environment.CreateContext();
            return await db.RenderTasks.AnyAsync(t => t.Id == task.TaskId && t.Status == RenderTaskStatus.Succeeded);
        }, "the task succeeds on the heir");
        await using var check = environment.CreateContext();
        var row = await check.RenderTasks.AsNoTracking().SingleAsync(t => t.Id == task.TaskId);
        Assert.Equal((RenderTaskStatus.Succeeded, "heir-worker", 2), (row.Status, row.WorkerId, row.Attempts));
        Assert.Equal(1, await check.Images.CountAsync(i => i.TaskId == task.TaskId));
    }

    [Fact]
    public async Task A_process_configured_for_cuda_on_a_machine_without_cuda_exits_with_a_clear_error()
    {
        using var worker = StartWorker("cuda-worker", ("Worker__Devices__0", "cuda:0"));

        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"exit; output:\n{worker.Output}");

        Assert.Equal(1, worker.Process.ExitCode);
        Assert.Contains("seg-worker: Worker:Devices: device 'cuda:0' cannot be used", worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Bus started", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_process_whose_broker_never_answers_exits_1_after_the_start_bound()
    {
        // Nothing listens on a port just freed: the bus cannot start for good within its bound.
        using var worker = StartWorker("no-broker-worker", ("RabbitMq__Port", FreePort().ToString(CultureInfo.InvariantCulture)),
            ("RabbitMq__StartTimeoutSeconds", "3"));

        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"exit; output:\n{worker.Output}");

        Assert.Equal(1, worker.Process.ExitCode);
        Assert.Contains("seg-worker: ", worker.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Worker__Devices__0", "gpu0", "Worker:Devices:0 must be 'cpu', 'cuda' or 'cuda:<id>' (got 'gpu0')")]
    [InlineData("Heartbeat__IntervalSeconds", "0", "Heartbeat:IntervalSeconds must be between 0.01 and 3600 seconds")]
    public async Task A_process_with_invalid_settings_names_them_and_exits(string key, string value, string message)
    {
        using var worker = StartWorker("bad-worker", (key, value));

        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"exit; output:\n{worker.Output}");

        Assert.Equal(1, worker.Process.ExitCode);
        Assert.Contains(message, worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_process_answers_its_probes_and_readiness_names_the_dependency_that_is_down()
    {
        // A blob store nobody listens on: the port of a listener that was closed again.
        var closedPort = FreePort();
        using var healthy = StartWorker("probed-worker", ("Worker__RenderMode", "fake"));
        using var cutOff = StartWorker("cut-off-worker", ("Worker__RenderMode", "fake"),
            ("ConnectionStrings__Blobs", $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteKey};BlobEndpoint=http://127.0.0.1:{closedPort}/devstoreaccount1;"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        JsonElement ready = default;
        await Wait.UntilAsync(async () =>
        {
            var (status, body) = await GetAsync(http, healthy.HttpBase, "readyz");
            ready = body;
            return status == HttpStatusCode.OK;
        }, "the healthy worker's /readyz to answer 200");
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Equal(["blob-store", "broker", "database"], checks.EnumerateObject().Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
        using (var live = await http.GetAsync(new Uri(healthy.HttpBase, "healthz")))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
        }

        JsonElement notReady = default;
        await Wait.UntilAsync(async () =>
        {
            var (status, body) = await GetAsync(http, cutOff.HttpBase, "readyz");
            notReady = body;
            // The broker check turns healthy once the bus has connected; only the blob store stays down.
            return status == HttpStatusCode.ServiceUnavailable && body.ValueKind == JsonValueKind.Object
                && body.GetProperty("checks").GetProperty("broker").GetProperty("status").GetString() == "Healthy";
        }, "the cut-off worker's /readyz to answer 503 with a connected broker");
        var failing = notReady.GetProperty("checks");
        Assert.Equal("Unhealthy", failing.GetProperty("blob-store").GetProperty("status").GetString());
        Assert.Contains("image store does not answer", failing.GetProperty("blob-store").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", failing.GetProperty("database").GetProperty("status").GetString());
        using (var live = await http.GetAsync(new Uri(cutOff.HttpBase, "healthz")))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode); // alive: a restart would not bring the blob store back
        }
    }

    private const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static async Task<(HttpStatusCode? Status, JsonElement Body)> GetAsync(HttpClient http, Uri baseUri, string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(baseUri, path));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
        }
        catch (HttpRequestException)
        {
            return (null, default);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts <c>dotnet Seg.Worker.dll</c> with the settings an end-to-end test passes: connection strings, broker,
    /// blob container, and the Worker section (id, devices, model root, cache, queue, render mode).
    /// </summary>
    private WorkerProcess StartWorker(string workerId, params (string Name, string Value)[] extra)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Seg.Worker.dll") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var httpBase = new Uri($"http://127.0.0.1:{FreePort()}/");
        var environmentVariables = new Dictionary<string, string>
        {
            // Its own port: several worker processes run on this machine at once.
            ["ASPNETCORE_URLS"] = httpBase.ToString(),
            ["ConnectionStrings__Postgres"] = environment.ConnectionString,
            ["ConnectionStrings__Blobs"] = TestServices.Blobs,
            ["BlobStorage__ContainerName"] = environment.ContainerName,
            ["RabbitMq__Host"] = TestServices.RabbitHost,
            ["RabbitMq__Port"] = TestServices.RabbitPort.ToString(CultureInfo.InvariantCulture),
            ["Worker__WorkerId"] = workerId,
            ["Worker__Devices__0"] = "cpu",
            ["Worker__ModelRoot"] = environment.ModelRoot,
            ["Worker__CacheFolder"] = environment.CacheFolder,
            ["Worker__QueueName"] = environment.QueueName,
            ["Heartbeat__IntervalSeconds"] = "1",
            ["Worker__DrainTimeoutSeconds"] = "10",
        };
        foreach (var (name, value) in extra)
        {
            environmentVariables[name] = value;
        }

        foreach (var (name, value) in environmentVariables)
        {
            start.Environment[name] = value;
        }

        return new WorkerProcess(Process.Start(start)!, httpBase);
    }

    /// <summary>Sends a signal the way Kubernetes stops a pod (.NET's Process.Kill sends SIGKILL).</summary>
    private static int Kill(int pid, int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode;
    }

    private sealed class WorkerProcess : IDisposable
    {
        private readonly StringBuilder _output = new();
        private readonly Lock _lock = new();

        public WorkerProcess(Process process, Uri httpBase)
        {
            Process = process;
            HttpBase = httpBase;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        /// <summary>The worker's HTTP listener (probes).</summary>
        public Uri HttpBase { get; }

        public string Output
        {
            get
            {
                lock (_lock)
                {
                    return _output.ToString();
                }
            }
        }

        public Task WaitForOutputAsync(string text) =>
            Wait.UntilAsync(() => Task.FromResult(Output.Contains(text, StringComparison.Ordinal) || Process.HasExited), $"'{text}' in the worker's output");

        public async Task<bool> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await Process.WaitForExitAsync(cancel.Token);
                Process.WaitForExit(); // flushes the redirected output
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            Process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _output.AppendLine(line);
            }
        }
    }
}
