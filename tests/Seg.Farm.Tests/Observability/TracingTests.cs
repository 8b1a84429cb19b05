using Xunit.Abstractions;

namespace Seg.Farm.Tests.Observability;

/// <summary>
/// Traces end to end: a real coordinator and worker export over OTLP to the test's own receiver, and each task of a
/// sweep is one trace from its submit to the coordinator's handling of its completion event.
/// </summary>
public class TracingTests(ITestOutputHelper output)
{
    private const string Sweep = """
        name: traced
        model: tiny
        prompts: ["a photo of a traced cat"]
        seeds: [1, 2]
        seg_scale: [3]
        seg_blur_sigma: [2, inf]
        guidance_scale: [5]
        steps: [2]
        size: ["64x64"]
        """;

    /// <summary>The worker's spans of a render, in the order the data flows.</summary>
    private static readonly string[] RenderStages =
        ["seg.render_task", "seg.render", "seg.encode_prompt", "seg.denoise", "seg.vae_decode", "seg.encode_png", "seg.upload", "seg.provenance"];

    /// <summary>The stages only the pipeline makes: a fake render (<c>Worker:RenderMode=fake</c>) has the others.</summary>
    private static readonly string[] PipelineStages = ["seg.encode_prompt", "seg.denoise", "seg.vae_decode", "seg.encode_png"];

    private static readonly string[] FakeRenderStages = [.. RenderStages.Except(PipelineStages)];

    [Fact]
    public async Task Every_task_is_one_trace_from_submit_through_dispatch_render_stages_and_provenance_to_its_completion()
    {
        using var receiver = new OtlpReceiver();
        await using var farm = await Farm.StartAsync(workers: 1, settings: receiver.Environment);
        var id = await farm.SubmitAsync(Sweep);
        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
        Assert.True(status == "succeeded", farm.Logs());

        var traces = await TaskTracesAsync(farm);
        Assert.Equal(4, traces.Count);
        foreach (var task in traces)
        {
            // The provenance row names the task's trace, so a dashboard goes from the image to it.
            Assert.Equal(task.TraceId, task.ImageTraceId);
            await AssertWholeTraceAsync(farm, receiver, task, id, RenderStages);
        }

        // One trace per task.
        Assert.Equal(4, traces.Select(t => t.TraceId).Distinct().Count());

        // What the spans leave out, because it costs on every task and says nothing more: database commands outside
        // any trace (the background loops' polls), and the Azure SDK's HTTP span under each storage call.
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Npgsql" && s.ParentSpanId == "");
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Azure.Core.Http");
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Npgsql" && s.Name.StartsWith("CONNECT", StringComparison.Ordinal));
    }

    /// <summary>
    /// Head sampling by the standard variables (<c>OTEL_TRACES_SAMPLER=parentbased_traceidratio</c>, ratio 0.5): each
    /// task's trace is decided once, at its submit span, and every process follows the decision, so a task is traced
    /// whole (the same spans as above) or not at all; only a sampled task's image names a trace.
    /// </summary>
    [Fact]
    public async Task With_head_sampling_each_task_is_traced_whole_or_not_at_all_and_only_sampled_images_name_their_trace()
    {
        using var receiver = new OtlpReceiver();
        var settings = new Dictionary<string, string>(receiver.Environment)
        {
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.5",
        };
        List<TaskTrace> traces;
        Guid id;
        await using (var farm = await Farm.StartAsync(workers: 1, settings: settings,
                         workerSettings: new Dictionary<string, string> { ["Worker__RenderMode"] = "Fake", ["Worker__CpuSlots"] = "2" }))
        {
            // 24 tasks: all of them sampled, or none, at ratio 0.5 is a chance of 1 in 8 million.
            id = await farm.SubmitAsync(Sweep.Replace("seeds: [1, 2]", "seeds: {start: 1, count: 12}", StringComparison.Ordinal));
            var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(1));
            Assert.True(status == "succeeded", farm.Logs());
            traces = await TaskTracesAsync(farm);
            Assert.Equal(24, traces.Count);
            foreach (var task in traces.Where(t => t.Sampled))
            {
                // The image names its trace: the dashboard's link leads to it.
                Assert.Equal(task.TraceId, task.ImageTraceId);
                await AssertWholeTraceAsync(farm, receiver, task, id, FakeRenderStages);
            }

            // Stop every process gracefully: each exports what it still holds, so what follows sees every span made.
            foreach (var process in farm.Workers.Concat(farm.Coordinators))
            {
                Assert.True(process.Terminate(TimeSpan.FromSeconds(30)), $"{process.Name} did not stop within 30 s");
            }
        }

        output.WriteLine($"{traces.Count(t => t.Sampled)} of {traces.Count} tasks sampled");
        Assert.Contains(traces, t => t.Sampled);
        Assert.Contains(traces, t => !t.Sampled);
        var sampled = traces.Where(t => t.Sampled).Select(t => t.TraceId).ToHashSet();
        foreach (var task in traces.Where(t => !t.Sampled))
        {
            // Its submit span was made (for its context) but not recorded: the row keeps the context, flag 00, for the
            // dispatch to follow, and the image names no trace, since there is none to link to.
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", task.TraceParent);
            Assert.Null(task.ImageTraceId);
            Assert.DoesNotContain(receiver.Spans, s => s.TraceId == task.TraceId);
        }

        // No fragment of an unsampled task in a trace of its own: every span of a task (ours, and MassTransit's of its
        // messages) is in a sampled task's trace.
        var outside = receiver.Spans.Where(s => !sampled.Contains(s.TraceId)).ToList();
        Assert.DoesNotContain(outside, s => s.Attributes.ContainsKey(SegTaskId) || RenderStages.Contains(s.Name) || s.Name == "seg.task.submit"
                                            || s.Name.Contains("render-task", StringComparison.OrdinalIgnoreCase)
                                            || s.Attributes.Values.Any(v => v.Contains("RenderTask", StringComparison.Ordinal)));
        Assert.Equal(sampled.Count, receiver.Spans.Count(s => s.Name == "seg.render_task"));
    }

    private const string SegTaskId = "seg.task.id";

    /// <summary>A task's trace as the database keeps it: the traceparent of its submit span and its image's trace id.</summary>
    private sealed record TaskTrace(string TaskId, string TraceParent, string? ImageTraceId)
    {
        public string TraceId => TraceParent.Split('-')[1];

        /// <summary>The W3C sampled flag of the submit span: the head-sampling decision for the whole trace.</summary>
        public bool Sampled => TraceParent.EndsWith("-01", StringComparison.Ordinal);
    }

    private static async Task<List<TaskTrace>> TaskTracesAsync(Farm farm)
    {
        var rows = await farm.QueryAsync<string>(
            "select t.id::text || ' ' || coalesce(t.trace_parent, '-') || ' ' || coalesce(i.trace_id, '-') from render_tasks t left join images i on i.task_id = t.id");
        return [.. rows.Select(row => row.Split(' ')).Select(f => new TaskTrace(f[0], f[1], f[2] == "-" ? null : f[2]))];
    }

    /// <summary>
    /// Waits for the task's spans, then asserts they are one tree from its submit span through the dispatch, the
    /// worker's <paramref name="stages"/> (with the upload's Azure SDK spans and the provenance's INSERT) to the
    /// coordinator consuming its completion event.
    /// </summary>
    private async Task AssertWholeTraceAsync(Farm farm, OtlpReceiver receiver, TaskTrace task, Guid sweepId, string[] stages)
    {
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", task.TraceParent);
        var traceId = task.TraceId;
        // The spans arrive within a second or so of the completion (batch export).
        await farm.WaitUntilAsync(() => Task.FromResult(IsComplete(receiver.Spans.Where(s => s.TraceId == traceId).ToList(), stages)),
            TimeSpan.FromSeconds(60), $"the spans of task {task.TaskId}: {Describe(receiver.Spans.Where(s => s.TraceId == traceId))}");

        var spans = receiver.Spans.Where(s => s.TraceId == traceId).ToList();
        output.WriteLine($"trace {traceId} of task {task.TaskId}:\n{Describe(spans)}");
        var submit = Assert.Single(spans, s => s.Name == "seg.task.submit");
        Assert.Equal("seg-coordinator", submit.Service);
        Assert.Equal("", submit.ParentSpanId);
        Assert.Equal(task.TaskId, submit.Attributes[SegTaskId]);
        Assert.Equal(sweepId.ToString(), submit.Attributes["seg.sweep.id"]);
        var dispatch = Assert.Single(spans, s => s.Name.StartsWith("send ", StringComparison.Ordinal) && s.Service == "seg-coordinator" && s.Attributes.ContainsKey(SegTaskId));
        Assert.Equal(ReceivedSpan.Producer, dispatch.Kind);
        Assert.Equal("rabbitmq", dispatch.Attributes["messaging.system"]);
        Assert.Equal(submit.SpanId, dispatch.ParentSpanId);

        foreach (var stage in stages)
        {
            var span = Assert.Single(spans, s => s.Name == stage);
            Assert.Equal("seg-worker", span.Service);
        }

        var render = spans.Single(s => s.Name == "seg.render_task");
        foreach (var attribute in new[] { "seg.sweep.id", SegTaskId, "seg.model", "seg.seed", "seg.seg_blur_sigma", "seg.seg_scale", "seg.guidance_scale" })
        {
            Assert.True(render.Attributes.ContainsKey(attribute), $"seg.render_task lacks {attribute}: {string.Join(", ", render.Attributes.Keys)}");
        }

        Assert.Equal("tiny", render.Attributes["seg.model"]);
        // The provenance insert itself, traced by Npgsql under the provenance span, and the upload by the Azure SDK.
        var provenance = spans.Single(s => s.Name == "seg.provenance");
        Assert.Contains(spans, s => s.ParentSpanId == provenance.SpanId && s.Kind == ReceivedSpan.Client && s.Attributes.Values.Any(v => v.Contains("INSERT INTO images", StringComparison.OrdinalIgnoreCase) || v == "postgresql"));
        var upload = spans.Single(s => s.Name == "seg.upload");
        Assert.Contains(spans, s => s.ParentSpanId == upload.SpanId && s.Scope.StartsWith("Azure.", StringComparison.Ordinal));
        // The completion event, consumed by the coordinator, is in the same trace.
        Assert.Contains(spans, s => s.Service == "seg-coordinator" && s.Kind == ReceivedSpan.Consumer);

        // One tree: every span but the root has its parent in the trace.
        var ids = spans.Select(s => s.SpanId).ToHashSet();
        Assert.All(spans.Where(s => s != submit), s => Assert.True(ids.Contains(s.ParentSpanId), $"{s} has no parent in the trace:\n{Describe(spans)}"));
    }

    private static bool IsComplete(List<ReceivedSpan> spans, string[] stages) =>
        spans.Any(s => s.Name == "seg.task.submit")
        && stages.All(stage => spans.Any(s => s.Name == stage))
        && spans.Any(s => s.Service == "seg-coordinator" && s.Kind == ReceivedSpan.Consumer);

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("\n", spans.Select(s => $"  {s} [{string.Join(", ", s.Attributes.Select(a => $"{a.Key}={a.Value}"))}]"));
}
