using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seg.Cli.Farm;

/// <summary>Task counts per status, as the coordinator reports them.</summary>
internal sealed record FarmTaskCounts(int Pending, int Queued, int Running, int Succeeded, int Failed, int Cancelled);

/// <summary>The part of the coordinator's sweep summary that <c>seg run --farm</c> shows.</summary>
internal sealed record FarmSweep(
    Guid Id,
    string Name,
    string Status,
    int TaskCount,
    FarmTaskCounts Tasks,
    double Progress,
    double? EtaSeconds,
    double GpuSeconds)
{
    /// <summary>Whether the sweep reached a final status.</summary>
    public bool IsFinished => Status is "succeeded" or "failed" or "cancelled";
}

/// <summary>A rejected sweep: field-level errors, from the coordinator or from the standalone run's own checks.</summary>
/// <param name="who">Who rejected it, as the message starts ("the coordinator rejected the sweep").</param>
/// <param name="errors">Field to rules.</param>
internal sealed class SweepRejectedException(string who, IReadOnlyDictionary<string, string[]> errors) : Exception(Describe(who, errors))
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    /// <summary>One line for one error (<c>sweep 'x.yaml': model: ...</c>), else a heading and a line per error.</summary>
    private static string Describe(string who, IReadOnlyDictionary<string, string[]> errors)
    {
        var lines = errors.SelectMany(e => e.Value.Select(rule => $"{e.Key}: {rule}")).ToList();
        return lines.Count == 1 ? $"{who}: {lines[0]}" : $"{who}:\n" + string.Join("\n", lines.Select(line => "  " + line));
    }
}

/// <summary>The coordinator refused the request's API key (401), its scope (403) or its rate (429): the user can act on it.</summary>
internal sealed class FarmAccessException(string message) : Exception(message);

/// <summary>The coordinator's REST API as <c>seg run --farm</c> and <c>seg bench farm</c> use it.</summary>
internal sealed class FarmClient(HttpClient http)
{
    /// <summary>The environment variable that holds the API key when <c>--api-key</c> is not given.</summary>
    public const string ApiKeyVariable = "SEG_API_KEY";

    /// <summary>
    /// An HTTP client for a coordinator that sends <paramref name="apiKey"/> (or <see cref="ApiKeyVariable"/>) as a bearer
    /// token; without either it sends none (a coordinator with <c>Auth:AllowAnonymous</c>).
    /// </summary>
    public static HttpClient CreateHttpClient(string coordinatorUrl, string? apiKey, TimeSpan timeout)
    {
        var baseAddress = new Uri(coordinatorUrl.EndsWith('/') ? coordinatorUrl : coordinatorUrl + "/");
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout };
        var key = string.IsNullOrWhiteSpace(apiKey) ? Environment.GetEnvironmentVariable(ApiKeyVariable) : apiKey;
        if (!string.IsNullOrWhiteSpace(key))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Trim());
        }

        return http;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Submits a sweep file (YAML or JSON by its extension); returns the stored sweep.</summary>
    public async Task<(FarmSweep Sweep, bool Created)> SubmitAsync(string sweepPath, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(sweepPath, cancellationToken).ConfigureAwait(false);
        var mediaType = Path.GetExtension(sweepPath).ToLowerInvariant() == ".json" ? "application/json" : "application/yaml";
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/sweeps")
        {
            Content = new StringContent(text, Encoding.UTF8, new MediaTypeHeaderValue(mediaType)),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            var problem = await response.Content.ReadFromJsonAsync<ValidationProblem>(Json, cancellationToken).ConfigureAwait(false);
            throw new SweepRejectedException("the coordinator rejected the sweep", problem?.Errors ?? new Dictionary<string, string[]>());
        }
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var sweep = await response.Content.ReadFromJsonAsync<FarmSweep>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the coordinator returned an empty sweep");
        return (sweep, response.StatusCode == HttpStatusCode.Created);
    }

    /// <summary>Submits sweep text (YAML) directly.</summary>
    public async Task<FarmSweep> SubmitTextAsync(string yaml, CancellationToken cancellationToken)
    {
        using var content = new StringContent(yaml, Encoding.UTF8, new MediaTypeHeaderValue("application/yaml"));
        using var response = await http.PostAsync("api/sweeps", content, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<FarmSweep>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the coordinator returned an empty sweep");
    }

    /// <summary>Cancels a sweep.</summary>
    public async Task CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync($"api/sweeps/{id}/cancel", null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a sweep's progress.</summary>
    /// <exception cref="FarmAccessException">The key is refused, or no sweep has the id.</exception>
    public async Task<FarmSweep> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"api/sweeps/{id}", cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken, $"sweep {id}").ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<FarmSweep>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the coordinator returned an empty sweep");
    }

    /// <summary>
    /// Opens the sweep's export stream (<c>GET /api/sweeps/{id}/export</c>) with the filters; the caller reads and disposes
    /// the response. Only the headers are awaited: the body streams.
    /// </summary>
    public async Task<HttpResponseMessage> OpenExportAsync(Guid id, Export.ExportFormat format, Export.ExportFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var query = string.Join("&", filter.ToQuery().Prepend(KeyValuePair.Create("format", Export.ExportFormats.Name(format)))
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var response = await http.GetAsync($"api/sweeps/{id}/export?{query}", HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, cancellationToken, $"sweep {id}").ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken, string? resource = null)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var detail = Detail(body);
            switch (response.StatusCode)
            {
                case HttpStatusCode.Unauthorized:
                    throw new FarmAccessException($"the coordinator refused the API key: {detail} (give one with --api-key or {ApiKeyVariable})");
                case HttpStatusCode.Forbidden:
                    throw new FarmAccessException($"the coordinator refused the request: {detail}");
                case HttpStatusCode.TooManyRequests:
                    throw new FarmAccessException($"the coordinator is rate limiting this key: {detail}");
                case HttpStatusCode.UnprocessableEntity:
                    throw new FarmAccessException($"the coordinator refused the submit: {detail}");
                case HttpStatusCode.NotFound when resource is not null:
                    throw new FarmAccessException($"{resource}: the coordinator has none: {detail}");
                case HttpStatusCode.BadRequest when resource is not null:
                    throw new FarmAccessException($"the coordinator refused the request: {detail}");
            }

            throw new HttpRequestException($"the coordinator answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}", null, response.StatusCode);
        }
    }

    /// <summary>A ProblemDetails answer's detail (or the errors it lists), else the body as it came.</summary>
    private static string Detail(string body)
    {
        try
        {
            var problem = JsonSerializer.Deserialize<ValidationProblem>(body, Json);
            if (problem?.Errors is { Count: > 0 } errors)
            {
                return string.Join("; ", errors.SelectMany(e => e.Value.Select(rule => $"{e.Key}: {rule}")));
            }

            return problem?.Detail ?? problem?.Title ?? body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private sealed record ValidationProblem(Dictionary<string, string[]>? Errors, string? Title = null, string? Detail = null);
}
