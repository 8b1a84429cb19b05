using System.Text.Json;
using System.Text.RegularExpressions;
using MassTransit.Serialization;
using Seg.Contracts.Messages;
using Seg.Contracts.Sweeps;
using Seg.Parameters;

namespace Seg.Contracts.Tests;

public class MessageJsonTests
{
    /// <summary>The options of plain System.Text.Json, ASP.NET Core and MassTransit's message serializer.</summary>
    public static TheoryData<string> OptionSets => ["default", "web", "masstransit"];

    private static JsonSerializerOptions Options(string name) => name switch
    {
        "default" => JsonSerializerOptions.Default,
        "web" => JsonSerializerOptions.Web,
        "masstransit" => SystemTextJsonMessageSerializer.Options,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static RenderParameters Parameters(double sigma) => Samples.Parameters with
    {
        Seed = long.MaxValue,
        Height = 64,
        GuidanceRescale = 0.7,
        SegBlurSigma = sigma,
        SegLayers = "d0,m0",
        SegWindowStart = 0.25,
    };

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void A_render_task_round_trips_with_an_infinite_sigma(string options)
    {
        var task = new RenderTask(Guid.NewGuid(), Guid.NewGuid(), 41, 2, Parameters(double.PositiveInfinity));

        var json = JsonSerializer.Serialize(task, Options(options));
        var compact = Regex.Replace(json, @"\s", "");
        var back = JsonSerializer.Deserialize<RenderTask>(json, Options(options));

        Assert.Equal(task, back);
        Assert.Contains("\"seg_blur_sigma\":\"inf\"", compact);
        Assert.Contains("\"seed\":9223372036854775807", compact);
    }

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void A_finite_sigma_is_written_as_a_number(string options)
    {
        var parameters = Parameters(4.5);

        var json = JsonSerializer.Serialize(parameters, Options(options));

        Assert.Contains("\"seg_blur_sigma\":4.5", Regex.Replace(json, @"\s", ""));
        Assert.Equal(parameters, JsonSerializer.Deserialize<RenderParameters>(json, Options(options)));
    }

    [Fact]
    public void A_sigma_that_is_neither_a_number_nor_inf_is_rejected()
    {
        var json = JsonSerializer.Serialize(Parameters(1)).Replace("\"seg_blur_sigma\":1", "\"seg_blur_sigma\":\"wide\"");

        var error = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<RenderParameters>(json));

        Assert.Contains("must be a number or \"inf\" (got \"wide\")", error.Message);
    }

    [Fact]
    public void The_other_messages_round_trip_through_masstransit_options()
    {
        var options = SystemTextJsonMessageSerializer.Options;
        var succeeded = new RenderTaskSucceeded(Guid.NewGuid(), Guid.NewGuid(), new Uri("http://127.0.0.1:10000/devstoreaccount1/images/a.png"),
            new string('a', 64), "worker-1", "cuda:0", new Dictionary<string, double> { ["denoise"] = 1.25, ["decode"] = 0.5 }, 1.9);
        var failed = new RenderTaskFailed(Guid.NewGuid(), Guid.NewGuid(), "model not found: tiny", true, "worker-1", 3);
        var heartbeat = new WorkerHeartbeat("worker-1", "pod-7", ["cuda:0", "cuda:1"], 2, 1, ["tiny"], 1234, 55.5, "0.1.0",
            new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

        Assert.Equivalent(succeeded, JsonSerializer.Deserialize<RenderTaskSucceeded>(JsonSerializer.Serialize(succeeded, options), options), strict: true);
        Assert.Equal(failed, JsonSerializer.Deserialize<RenderTaskFailed>(JsonSerializer.Serialize(failed, options), options));
        Assert.Equivalent(heartbeat, JsonSerializer.Deserialize<WorkerHeartbeat>(JsonSerializer.Serialize(heartbeat, options), options), strict: true);
    }

    [Fact]
    public void A_task_spec_becomes_a_render_task_for_an_attempt()
    {
        var spec = new RenderTaskSpec(Guid.NewGuid(), Guid.NewGuid(), 7, Parameters(1));

        Assert.Equal(new RenderTask(spec.TaskId, spec.SweepId, 7, 3, spec.Parameters), spec.ToRenderTask(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => spec.ToRenderTask(0));
    }
}
