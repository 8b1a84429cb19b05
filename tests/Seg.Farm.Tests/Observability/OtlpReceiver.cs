using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;

namespace Seg.Farm.Tests.Observability;

/// <summary>One span as an OTLP exporter sent it.</summary>
public sealed record ReceivedSpan(
    string Service,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    IReadOnlyDictionary<string, string> Attributes)
{
    /// <summary>OTLP's span kinds (opentelemetry/proto/trace/v1/trace.proto).</summary>
    public const int Internal = 1, Server = 2, Client = 3, Producer = 4, Consumer = 5;

    public override string ToString() => $"{Service} {Name} (kind {Kind}, {SpanId} <- {ParentSpanId})";
}

/// <summary>
/// The test's own OTLP/HTTP receiver (protobuf, as the .NET exporter sends it) on loopback: the processes export to it
/// with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>. Only the span fields the tests read are decoded; metrics and logs are
/// acknowledged and dropped. Hand-written because no OTLP receiver or proto package is available here, and the wire
/// format of the few messages read is small.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Endpoint = new Uri($"http://127.0.0.1:{Farm.FreePort()}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri Endpoint { get; }

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    /// <summary>The environment that makes a process export here.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        // Export within a second, not the default five.
        ["OTEL_BSP_SCHEDULE_DELAY"] = "300",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "300",
    };

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.Url!.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal))
            {
                ReadTraces(body.ToArray());
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private void ReadTraces(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            var fields = Fields(resourceSpans.Bytes).ToList();
            // Resource { repeated KeyValue attributes = 1; }
            var resource = fields.Where(f => f.Number == 1).SelectMany(f => Fields(f.Bytes)).Where(f => f.Number == 1).Select(f => KeyValue(f.Bytes));
            var service = resource.FirstOrDefault(kv => kv.Key == "service.name").Value ?? "";
            // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
            foreach (var scopeSpans in fields.Where(f => f.Number == 2))
            {
                var scopeFields = Fields(scopeSpans.Bytes).ToList();
                var scope = scopeFields.Where(f => f.Number == 1).SelectMany(f => Fields(f.Bytes)).FirstOrDefault(f => f.Number == 1)?.Bytes is { } name
                    ? System.Text.Encoding.UTF8.GetString(name)
                    : "";
                foreach (var span in scopeFields.Where(f => f.Number == 2))
                {
                    _spans.Enqueue(ReadSpan(service, scope, span.Bytes));
                }
            }
        }
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; repeated KeyValue attributes = 9; }
    private static ReceivedSpan ReadSpan(string service, string scope, byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var attributes = new Dictionary<string, string>();
        foreach (var field in Fields(span))
        {
            switch (field.Number)
            {
                case 1: traceId = Convert.ToHexStringLower(field.Bytes); break;
                case 2: spanId = Convert.ToHexStringLower(field.Bytes); break;
                case 4: parent = Convert.ToHexStringLower(field.Bytes); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(field.Bytes); break;
                case 6: kind = (int)field.Varint; break;
                case 9:
                    var (key, value) = KeyValue(field.Bytes);
                    attributes[key] = value;
                    break;
            }
        }

        return new ReceivedSpan(service, scope, traceId, spanId, parent, name, kind, attributes);
    }

    // KeyValue { string key = 1; AnyValue value = 2; } AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
    private static (string Key, string Value) KeyValue(byte[] bytes)
    {
        string key = "", value = "";
        foreach (var field in Fields(bytes))
        {
            if (field.Number == 1)
            {
                key = System.Text.Encoding.UTF8.GetString(field.Bytes);
            }
            else if (field.Number == 2)
            {
                foreach (var any in Fields(field.Bytes))
                {
                    value = any.Number switch
                    {
                        1 => System.Text.Encoding.UTF8.GetString(any.Bytes),
                        2 => any.Varint != 0 ? "true" : "false",
                        3 => ((long)any.Varint).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        4 => BitConverter.UInt64BitsToDouble(any.Varint).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                        _ => value,
                    };
                }
            }
        }

        return (key, value);
    }

    private sealed record Field(int Number, byte[] Bytes, ulong Varint);

    /// <summary>The top-level fields of one protobuf message (length-delimited ones as bytes, numbers as their bits).</summary>
    private static IEnumerable<Field> Fields(byte[] message)
    {
        var input = new CodedInputStream(message);
        var fields = new List<Field>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.LengthDelimited: fields.Add(new Field(number, input.ReadBytes().ToByteArray(), 0)); break;
                case WireFormat.WireType.Varint: fields.Add(new Field(number, [], input.ReadUInt64())); break;
                case WireFormat.WireType.Fixed64: fields.Add(new Field(number, [], input.ReadFixed64())); break;
                case WireFormat.WireType.Fixed32: fields.Add(new Field(number, [], input.ReadFixed32())); break;
                default: input.SkipLastField(); break;
            }
        }

        return fields;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
