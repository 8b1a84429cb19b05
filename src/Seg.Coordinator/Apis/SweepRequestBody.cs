using System.Text;
using Microsoft.Net.Http.Headers;

namespace Seg.Coordinator.Apis;

/// <summary>Reads a sweep from a request body in YAML or JSON, as its Content-Type says.</summary>
internal static class SweepRequestBody
{
    /// <summary>
    /// The media types a sweep may be sent as. Routing answers 415 to any other (the endpoint declares these), and
    /// <c>text/plain</c> or no Content-Type at all is told apart by the text.
    /// </summary>
    public static readonly string[] MediaTypes = ["application/json", "application/yaml", "text/yaml", "application/x-yaml", "text/plain"];

    /// <summary>The format hint for <see cref="Contracts.Sweeps.SweepParser"/>: JSON, YAML, or null to tell by the text.</summary>
    public static string? FormatOf(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            return null;
        }

        return mediaType.Contains("json", StringComparison.OrdinalIgnoreCase) ? "application/json"
            : mediaType.Contains("yaml", StringComparison.OrdinalIgnoreCase) ? "application/yaml"
            : null;
    }

    /// <summary>The body as text, in the charset the Content-Type names (UTF-8 by default).</summary>
    public static async Task<string> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var encoding = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) && parsed.Encoding is { } named ? named : Encoding.UTF8;
        using var reader = new StreamReader(request.Body, encoding, detectEncodingFromByteOrderMarks: true);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }
}
