using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Seg.Coordinator.Extensions;
using Seg.Coordinator.IntegrationEvents;
using Seg.ServiceDefaults;

namespace Seg.Coordinator.Tests.Sqlite;

/// <summary>
/// The retry that <see cref="CoordinatorServiceExtensions.AddCoordinatorConsumers"/> puts on each coordinator endpoint
/// (through <see cref="CoordinatorConsumerDefinition{TConsumer}"/>): transient faults are retried, an
/// <see cref="ArgumentException"/> is not; its settings (<c>Coordinator:Retry</c>, a <see cref="RetryOptions"/> as the
/// worker's) keep the coordinator's defaults and name the key of a broken rule.
/// </summary>
public sealed class CoordinatorRetryTests
{
    public sealed record Ping(Guid Id, string Kind);

    /// <summary>Counts attempts per message; throws as the message's kind says.</summary>
    public sealed class Attempts
    {
        private readonly Dictionary<Guid, int> _counts = [];

        public int Next(Guid id)
        {
            lock (_counts)
            {
                return _counts[id] = _counts.GetValueOrDefault(id) + 1;
            }
        }

        public int Of(Guid id)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(id);
            }
        }
    }

    public sealed class FlakyConsumer(Attempts attempts) : IConsumer<Ping>
    {
        public Task Consume(ConsumeContext<Ping> context)
        {
            var attempt = attempts.Next(context.Message.Id);
            return context.Message.Kind switch
            {
                "transient" when attempt < 3 => throw new TimeoutException("database restarting"),
                "bad" => throw new ArgumentException("worker_id must not be empty"),
                _ => Task.CompletedTask,
            };
        }
    }

    [Fact]
    public async Task Transient_faults_are_retried_and_argument_errors_are_not()
    {
        await using var provider = new ServiceCollection()
            .AddSingleton<Attempts>()
            .AddMassTransitTestHarness(bus => bus.AddConsumer<FlakyConsumer, CoordinatorConsumerDefinition<FlakyConsumer>>())
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var attempts = provider.GetRequiredService<Attempts>();

        var transient = new Ping(Guid.NewGuid(), "transient");
        var bad = new Ping(Guid.NewGuid(), "bad");
        await harness.Bus.Publish(transient);
        await harness.Bus.Publish(bad);

        Assert.True(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.Id == bad.Id));
        await CoordinatorTestHost.EventuallyAsync(() => Task.FromResult(attempts.Of(transient.Id) == 3), "third attempt of the transient message");
        Assert.False(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.Id == transient.Id));
        Assert.Equal(1, attempts.Of(bad.Id));
    }

    [Fact]
    public void Retry_settings_keep_the_coordinators_defaults_and_name_the_key_of_a_broken_rule()
    {
        Assert.Equal(
            new RetryOptions { Limit = 10, MinIntervalSeconds = 0.2, MaxIntervalSeconds = 30, IntervalDeltaSeconds = 0.5 },
            Resolve([]).Retry);
        Assert.Equal((3, 0.2), (Resolve(new() { ["Coordinator:Retry:Limit"] = "3" }).Retry.Limit, Resolve([]).Retry.MinIntervalSeconds));

        var failures = string.Join("\n", Assert.Throws<OptionsValidationException>(() => Resolve(new()
        {
            ["Coordinator:Retry:Limit"] = "101",
            ["Coordinator:Retry:MaxIntervalSeconds"] = "0.1",
        })).Failures);
        Assert.Contains("Coordinator:Retry:Limit must be between 0 and 100 (got 101)", failures, StringComparison.Ordinal);
        Assert.Contains("Coordinator:Retry:MaxIntervalSeconds must be >= MinIntervalSeconds (got 0.1 < 0.2)", failures, StringComparison.Ordinal);
    }

    /// <summary>The coordinator's options as <see cref="CoordinatorServiceExtensions.AddCoordinatorCore"/> registers them.</summary>
    private static CoordinatorOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddLogging().AddCoordinatorCore(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<CoordinatorOptions>>().Value;
    }
}
