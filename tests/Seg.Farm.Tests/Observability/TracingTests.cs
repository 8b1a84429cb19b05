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

    [Fact]
    public async Task Every_task_is_one_trace_from_submit_through_dispatch_render_stages_and_provenance_to_its_completion()
    {
        using var receiver = new OtlpReceiver();
        await using var farm = await Farm.StartAsync(workers: 1, settings: receiver.Environment);
        var id = await farm.SubmitAsync(Sweep);
        var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
        Assert.True(status == "succeeded", farm.Logs());

        var tasks = await farm.QueryAsync<string>(
            "select t.id::text || ' ' || coalesce(t.trace_parent, '-') || ' ' || coalesce(i.trace_id, '-') from render_tasks t left join images i on i.task_id = t.id");
        Assert.Equal(4, tasks.Count);
        var traces = tasks.Select(row => row.Split(' ')).Select(f => (TaskId: f[0], TraceParent: f[1], ImageTraceId: f[2])).ToList();
        foreach (var (taskId, traceParent, imageTraceId) in traces)
        {
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", traceParent);
            var traceId = traceParent.Split('-')[1];
            // The provenance row names the task's trace, so a dashboard goes from the image to it.
            Assert.Equal(traceId, imageTraceId);
            // The spans arrive within a second or so of the completion (batch export).
            await farm.WaitUntilAsync(() => Task.FromResult(IsComplete(receiver.Spans.Where(s => s.TraceId == traceId).ToList())),
                TimeSpan.FromSeconds(60), $"the spans of task {taskId}: {Describe(receiver.Spans.Where(s => s.TraceId == traceId))}");

            var spans = receiver.Spans.Where(s => s.TraceId == traceId).ToList();
            output.WriteLine($"trace {traceId} of task {taskId}:\n{Describe(spans)}");
            var submit = Assert.Single(spans, s => s.Name == "seg.task.submit");
            Assert.Equal("seg-coordinator", submit.Service);
            Assert.Equal("", submit.ParentSpanId);
            Assert.Equal(taskId, submit.Attributes["seg.task.id"]);
            Assert.Equal(id.ToString(), submit.Attributes["seg.sweep.id"]);
            var dispatch = Assert.Single(spans, s => s.Name.StartsWith("send ", StringComparison.Ordinal) && s.Service == "seg-coordinator" && s.Attributes.ContainsKey("seg.task.id"));
            Assert.Equal(ReceivedSpan.Producer, dispatch.Kind);
            Assert.Equal("rabbitmq", dispatch.Attributes["messaging.system"]);
            Assert.Equal(submit.SpanId, dispatch.ParentSpanId);

            foreach (var stage in RenderStages)
            {
                var span = Assert.Single(spans, s => s.Name == stage);
                Assert.Equal("seg-worker", span.Service);
            }

            var render = spans.Single(s => s.Name == "seg.render_task");
            foreach (var attribute in new[] { "seg.sweep.id", "seg.task.id", "seg.model", "seg.seed", "seg.seg_blur_sigma", "seg.seg_scale", "seg.guidance_scale" })
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

        // One trace per task.
        Assert.Equal(4, traces.Select(t => t.TraceParent.Split('-')[1]).Distinct().Count());

        // What the spans leave out, because it costs on every task and says nothing more: database commands outside
        // any trace (the background loops' polls), and the Azure SDK's HTTP span under each storage call.
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Npgsql" && s.ParentSpanId == "");
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Azure.Core.Http");
        Assert.DoesNotContain(receiver.Spans, s => s.Scope == "Npgsql" && s.Name.StartsWith("CONNECT", StringComparison.Ordinal));
    }

    private static bool IsComplete(List<ReceivedSpan> spans) =>
        spans.Any(s => s.Name == "seg.task.submit")
        && RenderStages.All(stage => spans.Any(s => s.Name == stage))
        && spans.Any(s => s.Service == "seg-coordinator" && s.Kind == ReceivedSpan.Consumer);

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("\n", spans.Select(s => $"  {s} [{string.Join(", ", s.Attributes.Select(a => $"{a.Key}={a.Value}"))}]"));
}
