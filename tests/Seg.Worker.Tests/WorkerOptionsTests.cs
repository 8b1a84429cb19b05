using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Seg.ServiceDefaults;

namespace Seg.Worker.Tests;

/// <summary>
/// The worker's settings as the process checks them at start: DataAnnotations and the rules across fields, every broken
/// one at once, each named with its configuration key.
/// </summary>
public sealed class WorkerOptionsTests
{
    [Fact]
    public void Options_are_validated_with_the_configuration_key_of_each_broken_rule()
    {
        var failures = Assert.Throws<OptionsValidationException>(() => Resolve(new Dictionary<string, string?>
        {
            ["Worker:Devices:0"] = "cuda:0",
            ["Worker:Devices:1"] = "gpu1",
            ["Worker:Devices:2"] = "cuda:0",
            ["Worker:Devices:3"] = "cpu",
            ["Worker:CpuSlots"] = "0",
            ["Worker:DrainTimeoutSeconds"] = "-1",
            ["Worker:MaxModelsPerSlot"] = "0",
            ["Worker:QueueName"] = " ",
            ["Worker:Retry:Limit"] = "-1",
            ["Worker:Retry:MinIntervalSeconds"] = "0.1",
            ["Worker:Retry:MaxIntervalSeconds"] = "0.01",
        })).Failures.ToList();

        string[] expected =
        [
            "Worker:Devices:1 must be 'cpu', 'cuda' or 'cuda:<id>' (got 'gpu1')",
            "Worker:Devices:2 must name each device once (got 'cuda:0' twice)",
            "Worker:CpuSlots must be >= 1 when a device is cpu (got 0)",
            "Worker:MaxModelsPerSlot must be >= 1 (got 0)",
            "Worker:DrainTimeoutSeconds must be > 0 (got -1)",
            "Worker:QueueName must not be empty",
            "Worker:Retry:Limit must be between 0 and 100 (got -1)",
            "Worker:Retry:MaxIntervalSeconds must be >= MinIntervalSeconds (got 0.01 < 0.1)",
        ];
        var all = string.Join("\n", failures);
        Assert.All(expected, message => Assert.Contains(message, all, StringComparison.Ordinal));
        // The rules across fields are one failure each; the DataAnnotations one per broken member (the retry in one).
        Assert.Equal(3 + 4, failures.Count);
    }

    [Fact]
    public void The_other_rules_name_their_keys_too()
    {
        var failures = string.Join("\n", Assert.Throws<OptionsValidationException>(() => Resolve(new Dictionary<string, string?>
        {
            ["Worker:ModelRoot"] = " ",
            ["Worker:CacheFolder"] = "",
            ["Worker:FakeRenderSeconds"] = "-0.5",
            ["Worker:Retry:MinIntervalSeconds"] = "0",
            ["Worker:Retry:IntervalDeltaSeconds"] = "7200",
            ["Worker:Retry:RedeliveryMinSeconds"] = "0",
        })).Failures);

        Assert.Contains("Worker:ModelRoot must not be empty", failures, StringComparison.Ordinal);
        Assert.Contains("Worker:CacheFolder must not be empty", failures, StringComparison.Ordinal);
        Assert.Contains("Worker:FakeRenderSeconds must be >= 0 (got -0.5)", failures, StringComparison.Ordinal);
        Assert.Contains("Worker:Retry:MinIntervalSeconds must be between 0.001 and 3600 seconds (got 0)", failures, StringComparison.Ordinal);
        Assert.Contains("Worker:Retry:IntervalDeltaSeconds must be between 0.001 and 3600 seconds (got 7200)", failures, StringComparison.Ordinal);
        Assert.Contains("Worker:Retry:RedeliveryMinSeconds must be between 0.1 and 86400 seconds (got 0)", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_valid_and_keep_the_workers_retry()
    {
        var options = Resolve([]);
        Assert.Equal(new WorkerOptions(), options);
        Assert.True(new WorkerOptionsValidator().Validate(null, new WorkerOptions()).Succeeded);
        var retry = options.Retry;
        Assert.Equal((5, 0.5, 30.0, (double?)null, 5.0, 60.0),
            (retry.Limit, retry.MinIntervalSeconds, retry.MaxIntervalSeconds, retry.IntervalDeltaSeconds, retry.RedeliveryMinSeconds, retry.RedeliveryMaxSeconds));
        Assert.IsAssignableFrom<RetryOptions>(retry);
    }

    [Fact]
    public void Settings_bind_onto_the_init_properties()
    {
        var options = Resolve(new Dictionary<string, string?>
        {
            ["Worker:Devices:0"] = "cpu",
            ["Worker:CpuSlots"] = "3",
            ["Worker:QueueName"] = "render-tasks-other",
            ["Worker:Retry:Limit"] = "2",
            ["Worker:Retry:RedeliveryMaxSeconds"] = "10",
        });

        Assert.Equal(["cpu"], options.Devices);
        Assert.Equal(3, options.SlotCount);
        Assert.Equal("render-tasks-other", options.QueueName);
        Assert.Equal((2, 0.5, 10.0), (options.Retry.Limit, options.Retry.MinIntervalSeconds, options.Retry.RedeliveryMaxSeconds));
    }

    /// <summary>The worker's options as the process registers them (<see cref="WorkerServiceExtensions.AddWorkerServices"/>).</summary>
    private static WorkerOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddLogging().AddWorkerServices(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<WorkerOptions>>().Value;
    }
}
