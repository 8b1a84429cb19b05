using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Seg.Contracts.Messages;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.Sweeps;
using Seg.ServiceDefaults;
using Seg.Storage;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests.Sqlite;

/// <summary>
/// The coordinator's core as the standalone mode hosts it: a generic host (no web server) with a SQLite file and a
/// local image folder in a temp folder (<c>AddSegStorageSqlite</c>), <see cref="CoordinatorServiceExtensions.AddCoordinatorCore"/>
/// and one <c>AddSegMassTransit(..., inMemory: true)</c> that carries the coordinator's consumers and, in place of a
/// worker, <see cref="RenderTaskInbox"/>'s consumer on <c>render-tasks</c>. Needs no outside service. For what only
/// the standalone mode does (a restart that loses the in-memory messages); the behaviours of the coordinator on
/// either database run on <see cref="CoordinatorFixture{TDatabase}"/>.
/// </summary>
public abstract class StandaloneCoordinatorFixture : CoordinatorTestHost, IAsyncLifetime
{
    private IHost? _host;

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "seg-coord-sqlite-" + Guid.NewGuid().ToString("N")[..12]);

    public string DatabasePath => Path.Combine(Folder, "seg.db");

    public override IServiceProvider Services => _host!.Services;

    public RenderTaskInbox Inbox => Services.GetRequiredService<RenderTaskInbox>();

    /// <summary>Coordinator settings of this fixture (keys as in appsettings.json).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public Task InitializeAsync() => StartHostAsync();

    /// <summary>Stops the host and starts a new one on the same database and image folder (messages in memory are lost).</summary>
    public async Task RestartAsync()
    {
        await StopHostAsync();
        await StartHostAsync();
    }

    public async Task DisposeAsync()
    {
        await StopHostAsync();
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    private async Task StartHostAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        var settings = new Dictionary<string, string?>
        {
            // Long: every test that waits for a message relies on the dispatcher being woken, not on polling.
            ["Coordinator:DispatchIntervalSeconds"] = "60",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSegStorageSqlite(DatabasePath, Path.Combine(Folder, "images"));
        builder.Services.AddCoordinatorCore(builder.Configuration);
        builder.Services.AddSingleton<RenderTaskInbox>();
        builder.Services.AddSegMassTransit(
            builder.Configuration,
            bus =>
            {
                bus.AddCoordinatorConsumers();
                // One at a time, so the inbox sees the messages in the order they were sent.
                bus.AddConsumer<RenderTaskInbox.Consumer>().Endpoint(endpoint =>
                {
                    endpoint.Name = Contracts.Messages.RenderTaskQueue.DefaultName;
                    endpoint.ConcurrentMessageLimit = 1;
                });
            },
            inMemory: true);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        _host = builder.Build();
        await _host.StartAsync();
    }

    private async Task StopHostAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
            _host = null;
        }

        // Pooled connections keep the file open.
        SqliteConnection.ClearAllPools();
    }

    /// <summary>Submits a valid sweep through <see cref="SweepSubmitter"/> and returns its id.</summary>
    public async Task<Guid> SubmitAsync(string yaml, string? idempotencyKey = null)
    {
        var submission = await WithAsync<SweepSubmitter, SweepSubmission>(s => s.SubmitAsync(yaml, "sweep.yaml", idempotencyKey, "sqlite-test", CancellationToken.None));
        Assert.True(submission.Succeeded, string.Join("; ", submission.Errors));
        return submission.Stored.SweepId;
    }

    /// <summary>Runs a sweep command.</summary>
    public Task<SweepCommandResult> CommandAsync(Func<SweepCommands, Guid, CancellationToken, Task<SweepCommandResult>> command, Guid sweepId) =>
        WithAsync<SweepCommands, SweepCommandResult>(c => command(c, sweepId, CancellationToken.None));
}

/// <summary>
/// Plays the worker's side of <c>render-tasks</c> on the in-memory bus: its consumer keeps every message it receives,
/// in order, with the correlation id the dispatcher set, for the tests to take.
/// </summary>
public sealed class RenderTaskInbox
{
    private readonly Channel<ReceivedTask> _received = Channel.CreateUnbounded<ReceivedTask>();

    /// <summary>Takes exactly <paramref name="count"/> messages, waiting for them; fails when fewer arrive in time.</summary>
    public async Task<IReadOnlyList<RenderTask>> TakeAsync(int count, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        var taken = new List<RenderTask>(count);
        using var timer = new CancellationTokenSource(limit);
        try
        {
            while (taken.Count < count)
            {
                var received = await _received.Reader.ReadAsync(timer.Token);
                Assert.Equal(received.Message.TaskId, received.CorrelationId);
                taken.Add(received.Message);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"expected {count} render task messages within {limit.TotalSeconds} s, got {taken.Count}");
        }

        return taken;
    }

    /// <summary>Fails if a message is waiting now, or arrives within <paramref name="wait"/>.</summary>
    public async Task AssertEmptyAsync(TimeSpan wait)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            if (_received.Reader.TryRead(out var unexpected))
            {
                Assert.Fail($"expected no render task, got sweep {unexpected.Message.SweepId} task {unexpected.Message.TaskIndex}");
            }

            await Task.Delay(50);
        }
        while (clock.Elapsed < wait);
    }

    private sealed record ReceivedTask(RenderTask Message, Guid? CorrelationId);

    /// <summary>The consumer on <c>render-tasks</c>.</summary>
    public sealed class Consumer(RenderTaskInbox inbox) : IConsumer<RenderTask>
    {
        public Task Consume(ConsumeContext<RenderTask> context)
        {
            inbox._received.Writer.TryWrite(new ReceivedTask(context.Message, context.CorrelationId));
            return Task.CompletedTask;
        }
    }
}
