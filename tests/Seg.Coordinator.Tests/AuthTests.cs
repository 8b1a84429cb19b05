using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Coordinator.Auth;
using Seg.Storage.Entities;

namespace Seg.Coordinator.Tests;

/// <summary>A coordinator with a public base URL, besides the test keys.</summary>
public sealed class AuthFixture : CoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Coordinator:PublicBaseUrl"] = "https://seg.example.org/farm/",
    };
}

/// <summary>A coordinator that lets each key submit three sweeps a minute.</summary>
public sealed class RateLimitedFixture : CoordinatorFixture
{
    public const int SubmitsPerMinute = 3;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:SubmitsPerMinute"] = SubmitsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>Submits are rate limited per key, with 429, Retry-After and ProblemDetails.</summary>
public sealed class SubmitRateLimitTests(RateLimitedFixture app) : IClassFixture<RateLimitedFixture>
{
    [Fact]
    public async Task Submits_beyond_the_rate_get_429_with_retry_after_and_other_keys_go_on()
    {
        using var client = app.CreateClient(TestApiKeys.Submitter);
        for (var i = 0; i < RateLimitedFixture.SubmitsPerMinute; i++)
        {
            using var accepted = await client.PostAsync("/api/sweeps", new StringContent($"model: m\nprompts: [rate {i}]\nseeds: 1\n", Encoding.UTF8, "application/yaml"));
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }

        var rows = await app.CountRowsAsync();
        using var limited = await client.PostAsync("/api/sweeps", new StringContent("model: m\nprompts: [one too many]\nseeds: 1\n", Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Contains("'test-submitter' may submit 3 sweeps a minute", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(rows, await app.CountRowsAsync());

        // Reads are not limited, and another key is not held back by this one's rate.
        using var read = await app.Client.GetAsync("/api/sweeps");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var other = await app.PostSweepAsync("model: m\nprompts: [admin]\nseeds: 1\n");
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }
}

/// <summary>
/// API keys on every endpoint: no key, a wrong key, a key without the scope and the right key give 401, 401, 403 and
/// 2xx; 401 and 403 are ProblemDetails; the key's name (never the key) is who submitted a sweep.
/// </summary>
public sealed class AuthTests(AuthFixture app) : IClassFixture<AuthFixture>
{
    private const string Sweep = "model: m\nprompts: [a cat]\nseeds: [1, 2]\n";

    /// <summary>
    /// Every endpoint of the API, the scope it needs and how to call it so that the right key succeeds. The first test
    /// checks that this table lists every endpoint the app maps, so a new endpoint cannot go untested.
    /// </summary>
    private static readonly (string Method, string Route, string Scope)[] Endpoints =
    [
        ("POST", "/api/sweeps/", ApiScopes.Submit),
        ("GET", "/api/sweeps/", ApiScopes.Read),
        ("GET", "/api/sweeps/{id:guid}", ApiScopes.Read),
        ("POST", "/api/sweeps/{id:guid}/cancel", ApiScopes.Operate),
        ("POST", "/api/sweeps/{id:guid}/pause", ApiScopes.Operate),
        ("POST", "/api/sweeps/{id:guid}/resume", ApiScopes.Operate),
        ("POST", "/api/sweeps/{id:guid}/requeue-failed", ApiScopes.Operate),
        ("GET", "/api/sweeps/{id:guid}/images", ApiScopes.Read),
        ("GET", "/api/sweeps/{id:guid}/export", ApiScopes.Read),
        ("GET", "/api/images/{taskId:guid}", ApiScopes.Read),
        ("GET", "/api/workers", ApiScopes.Read),
        ("GET", "/openapi/{documentName}.json", ApiScopes.Read),
        ("GET", "/api/images/{taskId:guid}/thumbnail", ApiScopes.Read),
        ("GET", "/api/sweeps/{id:guid}/grid.png", ApiScopes.Read),
        ("POST", "/api/admin/blob-audit", ApiScopes.Admin),
        // The web pages (a page's form posts go to its own route, with an anti-forgery token; actions also need operate).
        ("GET", "/", ApiScopes.Read),
        ("GET", "/sweeps/{id:guid}", ApiScopes.Read),
        ("GET", "/sweeps/{id:guid}/grid", ApiScopes.Read),
        ("GET", "/images/{taskId:guid}", ApiScopes.Read),
        ("GET", "/workers", ApiScopes.Read),
        ("GET", "/metrics", ApiScopes.Read),
    ];

    /// <summary>The open routes: the probes, and the sign-in form (which must be reachable without a key).</summary>
    private static readonly string[] OpenRoutes = ["/healthz", "/readyz", "/signin"];

    private static bool IsPage(string route) => !route.StartsWith("/api", StringComparison.Ordinal) && !route.StartsWith("/openapi", StringComparison.Ordinal) && route != "/metrics";

    [Fact]
    public void The_table_covers_every_endpoint_and_only_the_probes_are_open()
    {
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Method: m, Route: "/" + e.RoutePattern.RawText!.TrimStart('/'), Endpoint: e)))
            .ToList();
        var open = mapped.Where(m => m.Endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            .Select(m => m.Route).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(OpenRoutes, open);
        var protectedEndpoints = mapped.Where(m => !OpenRoutes.Contains(m.Route)).Select(m => (m.Method, m.Route)).ToHashSet();
        Assert.Equal(Endpoints.Select(e => (e.Method, e.Route)).ToHashSet(), protectedEndpoints);
    }

    [Fact]
    public async Task Every_endpoint_answers_401_401_403_and_2xx_for_no_key_a_wrong_key_a_key_without_the_scope_and_the_right_key()
    {
        var outcomes = new List<string>();
        foreach (var (method, route, scope) in Endpoints)
        {
            var scoped = ScopeKey(scope);
            var lacking = scope == ApiScopes.Read ? TestApiKeys.Submitter : TestApiKeys.Reader;
            foreach (var (label, key, expected) in new (string, string?, HttpStatusCode?)[]
            {
                ("no key", null, HttpStatusCode.Unauthorized),
                ("wrong key", "not-a-key-of-this-farm-at-all", HttpStatusCode.Unauthorized),
                ("key without the scope", lacking, HttpStatusCode.Forbidden),
                ("the scope's key", scoped, null),
                ("admin", TestApiKeys.Admin, null),
            })
            {
                using var request = await RequestAsync(method, route);
                using var client = app.CreateClient(key);
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                // A page sends a browser without a (valid) key to the sign-in form instead of answering 401.
                var toSignIn = IsPage(route) && expected == HttpStatusCode.Unauthorized;
                var ok = toSignIn
                    ? response.StatusCode == HttpStatusCode.OK && response.RequestMessage!.RequestUri!.AbsolutePath == ApiKeyAuthenticationHandler.SignInPath
                    : expected is { } status ? response.StatusCode == status : response.IsSuccessStatusCode;
                outcomes.Add($"{(ok ? "ok  " : "FAIL")} {method} {route} with {label}: {(int)response.StatusCode} {response.RequestMessage?.RequestUri?.AbsolutePath} {Truncate(body)}");
                if (expected is not null && ok && !toSignIn)
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    Assert.Equal((int)expected, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
                }
            }
        }

        Assert.True(outcomes.All(o => o.StartsWith("ok", StringComparison.Ordinal)), string.Join("\n", outcomes));
    }

    [Fact]
    public async Task Refusals_say_why_and_never_echo_the_key()
    {
        using var none = await app.CreateClient(null).GetAsync("/api/sweeps");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Authorization: Bearer KEY", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        const string Guess = "guessed-key-0123456789abcdef";
        using var wrong = await app.CreateClient(Guess).GetAsync("/api/sweeps");
        var wrongBody = await wrong.Content.ReadAsStringAsync();
        Assert.Contains("the API key is not valid", wrongBody, StringComparison.Ordinal);
        Assert.DoesNotContain(Guess, wrongBody, StringComparison.Ordinal);

        using var forbidden = await app.CreateClient(TestApiKeys.Reader).PostAsync("/api/sweeps", new StringContent(Sweep, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("the API key 'test-reader' lacks the scope 'submit'", await forbidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_may_come_in_the_x_api_key_header_and_its_name_is_who_submitted_the_sweep()
    {
        using var client = app.CreateClient(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/sweeps") { Content = new StringContent(Sweep, Encoding.UTF8, "application/yaml") };
        request.Headers.Add(ApiKeyAuthenticationHandler.ApiKeyHeader, TestApiKeys.Submitter);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var summary = JsonDocument.Parse(body).RootElement;
        Assert.Equal("test-submitter", summary.GetProperty("submittedBy").GetString());
        var id = summary.GetProperty("id").GetGuid();
        var stored = await app.WithDbAsync(db => db.Sweeps.AsNoTracking().SingleAsync(s => s.Id == id));
        Assert.Equal("test-submitter", stored.SubmittedBy);
        Assert.DoesNotContain(TestApiKeys.Submitter, stored.DefinitionJson + stored.TagsJson + body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repeated_idempotency_key_with_another_sweep_is_refused_with_422_and_the_same_sweep_in_json_is_the_first()
    {
        var key = $"auth-idem-{Guid.NewGuid():N}";
        using var first = await app.PostSweepAsync(Sweep, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var id = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        var rows = await app.CountRowsAsync();

        using var other = await app.PostSweepAsync("model: m\nprompts: [a dog]\nseeds: [1, 2]\n", idempotencyKey: key);
        var otherBody = await other.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        var errors = JsonDocument.Parse(otherBody).RootElement.GetProperty("errors");
        Assert.Contains("with a different definition", errors.GetProperty("Idempotency-Key")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(rows, await app.CountRowsAsync());

        using var sameAsJson = await app.PostSweepAsync("""{"model": "m", "prompts": ["a cat"], "seeds": [1, 2]}""", "application/json", key);
        Assert.Equal(HttpStatusCode.OK, sameAsJson.StatusCode);
        Assert.Equal(id, JsonDocument.Parse(await sameAsJson.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Image_urls_come_from_the_public_base_url_never_from_the_host_header()
    {
        var (sweep, taskId) = await SweepWithImageAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sweeps/{sweep}/images");
        request.Headers.Host = "attacker.example";
        using var response = await app.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var image = JsonDocument.Parse(body).RootElement.GetProperty("items")[0];
        Assert.Equal($"https://seg.example.org/farm/api/images/{taskId}", image.GetProperty("imageUrl").GetString());
        Assert.DoesNotContain("attacker.example", body, StringComparison.Ordinal);
    }

    private static string ScopeKey(string scope) => scope switch
    {
        ApiScopes.Read => TestApiKeys.Reader,
        ApiScopes.Submit => TestApiKeys.Submitter,
        ApiScopes.Operate => TestApiKeys.Operator,
        _ => TestApiKeys.Admin,
    };

    /// <summary>A request to <paramref name="route"/> that the right key gets a 2xx for (a fresh sweep per command).</summary>
    private async Task<HttpRequestMessage> RequestAsync(string method, string route)
    {
        if (route == "/api/sweeps/")
        {
            return method == "POST"
                ? new HttpRequestMessage(HttpMethod.Post, "/api/sweeps") { Content = new StringContent(Sweep, Encoding.UTF8, "application/yaml") }
                : new HttpRequestMessage(HttpMethod.Get, "/api/sweeps");
        }

        if (route.Contains("{taskId:guid}", StringComparison.Ordinal))
        {
            var (_, taskId) = await SweepWithImageAsync();
            return new HttpRequestMessage(HttpMethod.Get, route.Replace("{taskId:guid}", taskId.ToString(), StringComparison.Ordinal));
        }

        if (route is "/" or "/workers")
        {
            return new HttpRequestMessage(HttpMethod.Get, route);
        }

        if (route == "/api/sweeps/{id:guid}/export")
        {
            var (sweepWithImage, _) = await SweepWithImageAsync();
            return new HttpRequestMessage(HttpMethod.Get, $"/api/sweeps/{sweepWithImage}/export?format=webdataset");
        }

        if (route.StartsWith("/openapi", StringComparison.Ordinal))
        {
            return new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        }

        if (route is "/api/workers" or "/metrics")
        {
            return new HttpRequestMessage(HttpMethod.Get, route);
        }

        var sweep = await app.SubmitAsync(Sweep);
        if (route.EndsWith("/resume", StringComparison.Ordinal))
        {
            using var pause = await app.PostAsync($"/api/sweeps/{sweep}/pause");
            Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        }

        return new HttpRequestMessage(new HttpMethod(method), route.Replace("{id:guid}", sweep.ToString(), StringComparison.Ordinal));
    }

    /// <summary>A sweep with one stored image (blob and provenance row, as a worker leaves them).</summary>
    private async Task<(Guid Sweep, Guid TaskId)> SweepWithImageAsync()
    {
        var sweep = await app.SubmitAsync(Sweep);
        var definition = Seg.Contracts.Sweeps.SweepParser.ParseYaml(Sweep).Definition!;
        var task = Seg.Contracts.Sweeps.SweepExpander.TaskAt(sweep, definition, 0);
        await app.StoreImageAsync(task.TaskId, sweep, task.Parameters, "worker-auth");
        return (sweep, task.TaskId);
    }

    private static string Truncate(string text) => text.Length > 200 ? text[..200] : text;
}

/// <summary>A coordinator that lets requests without a key read, and only read.</summary>
public sealed class AnonymousReadFixture : CoordinatorFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:AllowAnonymous"] = "true",
        ["Auth:AnonymousScopes:0"] = ApiScopes.Read,
    };
}

/// <summary>Anonymous access exists only when configured, gets only its scopes, and never excuses a wrong key.</summary>
public sealed class AnonymousAccessTests(AnonymousReadFixture app) : IClassFixture<AnonymousReadFixture>
{
    [Fact]
    public async Task Without_a_key_reads_pass_submits_are_forbidden_and_a_wrong_key_is_still_refused()
    {
        using var anonymous = app.CreateClient(null);
        using var read = await anonymous.GetAsync("/api/sweeps");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var submit = await anonymous.PostAsync("/api/sweeps", new StringContent("model: m\nprompts: [a]\nseeds: 1\n", Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
        Assert.Contains("'anonymous' lacks the scope 'submit'", await submit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var wrong = await app.CreateClient("not-a-key-of-this-farm-at-all").GetAsync("/api/sweeps");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }
}

/// <summary>The rules on <c>Auth</c> settings, each error naming its key.</summary>
public sealed class AuthOptionsValidatorTests
{
    private static readonly AuthOptionsValidator Validator = new();

    [Fact]
    public void No_key_without_anonymous_access_is_refused()
    {
        var result = Validator.Validate(null, new AuthOptions());
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Auth:ApiKeys must list at least one key", StringComparison.Ordinal));
        Assert.True(Validator.Validate(null, new AuthOptions { AllowAnonymous = true }).Succeeded);
    }

    [Fact]
    public void Each_broken_rule_names_the_key_and_the_rule()
    {
        var options = new AuthOptions
        {
            ApiKeys =
            [
                new ApiKeyOptions { Name = "ci", Key = "short", Scopes = ["read"] },
                new ApiKeyOptions { Name = "ci", Key = "a-long-enough-key-1234", KeySha256 = new string('a', 64), Scopes = ["read"] },
                new ApiKeyOptions { Name = "bad name!", KeySha256 = "xyz", Scopes = [] },
                new ApiKeyOptions { Name = "ops", Key = "a-long-enough-key-5678", Scopes = ["operate", "root"] },
                new ApiKeyOptions { Name = "ops2", Key = "a-long-enough-key-5678", Scopes = ["operate"] },
            ],
        };
        var failures = Validator.Validate(null, options).Failures!.ToList();
        Assert.Contains("Auth:ApiKeys:0:Key must be at least 16 characters (got 5)", failures);
        Assert.Contains("Auth:ApiKeys:1:Name must differ from every other key's name (got 'ci' twice)", failures);
        Assert.Contains("Auth:ApiKeys:1 must set exactly one of Key and KeySha256", failures);
        Assert.Contains(failures, f => f.StartsWith("Auth:ApiKeys:2:Name must be 1-64 letters", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Auth:ApiKeys:2:KeySha256 must be 64 hex digits", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Auth:ApiKeys:2:Scopes must list at least one of", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Auth:ApiKeys:3:Scopes:1 must be one of read, submit, operate, admin (got 'root')", StringComparison.Ordinal));
        Assert.Contains("Auth:ApiKeys:4 must be a key of its own (another entry has the same key)", failures);
    }
}

/// <summary>The coordinator as a process: it refuses to start without API keys, naming the setting, and exits non-zero.</summary>
public sealed class CoordinatorStartTests
{
    [Fact]
    public async Task A_coordinator_without_api_keys_exits_1_naming_the_setting()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Seg.Coordinator.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
                ["ConnectionStrings__Postgres"] = TestServices.Postgres,
                ["DOTNET_ENVIRONMENT"] = "Production",
            },
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("seg-coordinator: Auth:ApiKeys must list at least one key", await error + await output, StringComparison.Ordinal);
    }
}
