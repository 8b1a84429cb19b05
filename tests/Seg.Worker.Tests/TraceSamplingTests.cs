using System.Diagnostics;
using MassTransit.Serialization;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Seg.ServiceDefaults;

namespace Seg.Worker.Tests;

/// <summary>Not in parallel with the tests whose <see cref="SpanRecorder"/> records every span of the same source.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TraceSamplingCollection
{
    public const string Name = "trace sampling";
}

/// <summary>
/// How a task's trace follows its head-sampling decision across the hops our code makes, with the OpenTelemetry SDK's
/// own sampler (the default, parentbased_always_on): the stored traceparent of an unsampled task continues as an
/// unrecorded span of the same trace, and its context goes on with the message; a sampled one is left to MassTransit.
/// </summary>
[Collection(TraceSamplingCollection.Name)]
public sealed class TraceSamplingTests
{
    private static readonly ActivityTraceId TraceId = ActivityTraceId.CreateRandom();
    private static readonly ActivitySpanId SubmitSpanId = ActivitySpanId.CreateRandom();

    [Fact]
    public void An_unsampled_tasks_stored_context_continues_as_an_unrecorded_span_of_its_trace_whose_context_the_message_carries()
    {
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(SegTelemetry.Name).SetSampler(new ParentBasedSampler(new AlwaysOnSampler())).Build();
        // A sampled dispatch round is current: the task's span must not become its child (nor be left out, which would
        // leave the message under the round's trace).
        using var round = SegTelemetry.ActivitySource.StartActivity("seg.dispatch");
        Assert.True(round is { Recorded: true });

        using var span = SegTelemetry.StartTaskActivity("send render-tasks", ActivityKind.Producer, $"00-{TraceId}-{SubmitSpanId}-00");
        Assert.NotNull(span);
        Assert.Equal(TraceId, span.TraceId);
        Assert.Equal(SubmitSpanId, span.ParentSpanId);
        Assert.False(span.Recorded);
        Assert.Null(span.Recording());

        var headers = new DictionarySendHeaders();
        SegTelemetry.PropagateUnsampled(headers);
        Assert.True(headers.TryGetHeader(SegTelemetry.MessageTraceParentHeader, out var sent));
        Assert.Equal($"00-{TraceId}-{span.SpanId}-00", sent);
    }

    [Fact]
    public void A_process_that_does_not_trace_adds_no_trace_header()
    {
        using var request = new Activity("request").Start();
        Assert.False(request.Recorded);
        var headers = new DictionarySendHeaders();
        SegTelemetry.PropagateUnsampled(headers);
        Assert.False(headers.TryGetHeader(SegTelemetry.MessageTraceParentHeader, out _));
    }

    [Fact]
    public void A_sampled_tasks_stored_context_continues_recorded_and_the_header_is_left_to_MassTransits_send_span()
    {
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource(SegTelemetry.Name).SetSampler(new ParentBasedSampler(new AlwaysOnSampler())).Build();
        using var span = SegTelemetry.StartTaskActivity("send render-tasks", ActivityKind.Producer, $"00-{TraceId}-{SubmitSpanId}-01");
        Assert.NotNull(span);
        Assert.Equal(TraceId, span.TraceId);
        Assert.True(span.Recorded);
        Assert.Same(span, span.Recording());

        var headers = new DictionarySendHeaders();
        SegTelemetry.PropagateUnsampled(headers);
        Assert.False(headers.TryGetHeader(SegTelemetry.MessageTraceParentHeader, out _));
    }
}
