using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
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

    /// <summary>
    /// The body as text, in the charset the Content-Type names (UTF-8 by default), or null when it is longer than
    /// <paramref name="maxBytes"/>. The count is kept here, whatever the server: Kestrel's own limit (see
    /// <see cref="LimitSize"/>) stops a long body earlier, but not every host has one.
    /// </summary>
    public static async Task<string?> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var encoding = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) && parsed.Encoding is { } named ? named : Encoding.UTF8;
        using var bytes = new MemoryStream();
        var buffer = new byte[81_920];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (bytes.Length + read > maxBytes)
                {
                    return null;
                }

                bytes.Write(buffer, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        bytes.Position = 0;
        using var reader = new StreamReader(bytes, encoding, detectEncodingFromByteOrderMarks: true);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Caps the request body at <paramref name="maxBytes"/>: Kestrel refuses a larger Content-Length at once and stops a
    /// chunked body that grows past it, both with 413.
    /// </summary>
    /// <returns>A 413 problem when the declared length is too large already, otherwise null.</returns>
    public static ProblemHttpResult? LimitSize(HttpContext context, long maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes, context.Request.ContentLength.Value);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        return null;
    }

    /// <summary>The 413 problem for a sweep over <paramref name="maxBytes"/>.</summary>
    public static ProblemHttpResult TooLarge(long maxBytes, long? got) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The sweep is too large",
        detail: $"a sweep may be at most {maxBytes} bytes (Coordinator:MaxSweepBytes){(got is { } n ? $"; this one is {n}" : "")}");
}
