using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace Seg.Farm.Tests.Observability;

/// <summary>
/// The Grafana dashboards against the real thing: after a real sweep (with failures) on a real coordinator and worker,
/// every PostgreSQL query runs through Grafana's read-only role and returns the panel's columns and rows, and every
/// PromQL expression, evaluated by the Prometheus that <c>infra/dev-services.sh</c> started scraping both processes,
/// returns data.
/// </summary>
public class DashboardTests(ITestOutputHelper output)
{
    private const string Sweep = """
        name: dashboards
        model: tiny
        prompts: ["a photo of a cat on a dashboard"]
        seeds: [1, 2]
        seg_scale: [3]
        seg_blur_sigma: [2, inf]
        seg_layers: [mid, m99]
        guidance_scale: [5]
        steps: [2]
        size: ["64x64"]
        """;

    [Fact]
    public async Task Every_dashboard_query_returns_data_from_a_real_sweep_through_the_read_only_role_and_a_real_prometheus()
    {
        var prometheusUrl = Environment.GetEnvironmentVariable("SEG_PROMETHEUS_URL");
        var prometheusDir = Environment.GetEnvironmentVariable("SEG_PROMETHEUS_DIR");
        Assert.False(string.IsNullOrEmpty(prometheusUrl) || string.IsNullOrEmpty(prometheusDir),
            "SEG_PROMETHEUS_URL and SEG_PROMETHEUS_DIR are unset: start the services with infra/dev-services.sh (it starts Prometheus) and source its env file");
        var queries = Dashboards.Queries().ToList();
        Assert.Contains(queries, q => q.Datasource == Dashboards.Postgres);
        Assert.Contains(queries, q => q.Datasource == Dashboards.Prometheus);

        await using var farm = await Farm.StartAsync(workers: 1);
        var targets = Path.Combine(prometheusDir!, "targets");
        var coordinatorTarget = Path.Combine(targets, $"coordinator-{Guid.NewGuid():N}.json");
        var workerTarget = Path.Combine(targets, $"worker-{Guid.NewGuid():N}.json");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(prometheusDir!, "coordinator-token"), TestApiKeys.Reader);
            await File.WriteAllTextAsync(coordinatorTarget, Target(farm.Http.BaseAddress!));
            await File.WriteAllTextAsync(workerTarget, Target(farm.WorkerUrls[0]));
            using var prometheus = new HttpClient { BaseAddress = new Uri(prometheusUrl!), Timeout = TimeSpan.FromSeconds(30) };
            // Both processes are scraped (up == 1) before the sweep starts, so rate() sees it from its first task.
            await farm.WaitUntilAsync(async () => (await QueryAsync(prometheus, "sum(up{job=~\"seg-.*\"}) == 2", null)).Count == 1,
                TimeSpan.FromSeconds(60), "Prometheus to scrape the coordinator and the worker");

            var id = await farm.SubmitAsync(Sweep);
            var (status, _) = await farm.WaitForSweepAsync(id, TimeSpan.FromMinutes(3));
            Assert.True(status is "failed" or "succeeded", farm.Logs());
            // A few scrapes after the end, so the last counts are in; then every expression is evaluated at that time.
            await farm.WaitUntilAsync(async () => (await QueryAsync(prometheus, "sum(seg_worker_tasks_total{outcome=\"succeeded\"}) >= 2", null)).Count == 1,
                TimeSpan.FromSeconds(60), "Prometheus to scrape the sweep's counts");
            await Task.Delay(TimeSpan.FromSeconds(3));
            var at = DateTimeOffset.UtcNow;

            var failures = new List<string>();
            foreach (var query in queries.Where(q => q.Datasource == Dashboards.Prometheus))
            {
                var promql = Dashboards.PromQl(query.Text, "2m");
                var result = await QueryAsync(prometheus, promql, at);
                output.WriteLine($"{query.Where}: {promql} -> {result.Count} series");
                if (result.Count == 0)
                {
                    failures.Add($"{query.Where}: no data for {promql}");
                }
            }

            var names = await prometheus.GetFromJsonAsync<JsonElement>("api/v1/label/__name__/values");
            var known = names.GetProperty("data").EnumerateArray().Select(n => n.GetString()).ToHashSet();
            failures.AddRange(Dashboards.MetricNames().Where(n => !known.Contains(n)).Select(n => $"metric {n} does not exist in Prometheus"));

            await GrantReaderAsync(farm.Database);
            var values = new Dictionary<string, string>
            {
                ["sweep"] = id.ToString(),
                ["model"] = "",
                ["prompt"] = "cat",
                ["seed"] = "",
                ["model_hash"] = "",
                ["software"] = "",
                ["patch"] = "",
            };
            await using var reader = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(farm.Database) { Username = "seg_grafana", Password = null }.ConnectionString);
            await reader.OpenAsync();
            foreach (var query in queries.Where(q => q.Datasource == Dashboards.Postgres))
            {
                failures.AddRange(await CheckSqlAsync(reader, query, Dashboards.Sql(query.Text, values)));
            }

            // The filters of the provenance dashboard select: a seed, a model hash prefix, a software version.
            var seedOnly = new Dictionary<string, string>(values) { ["prompt"] = "", ["seed"] = "2", ["model"] = "tiny" };
            var provenance = queries.Single(q => q.Where.StartsWith("Seg provenance panel 'Images'", StringComparison.Ordinal));
            failures.AddRange(await CheckSqlAsync(reader, provenance with { Where = provenance.Where + " (seed 2, model tiny)" }, Dashboards.Sql(provenance.Text, seedOnly)));
            await using (var hash = new NpgsqlCommand("SELECT left(value, 8) FROM images, jsonb_each_text(model_file_hashes_json) LIMIT 1", reader))
            {
                var byHash = new Dictionary<string, string>(values) { ["prompt"] = "", ["model_hash"] = (string)(await hash.ExecuteScalarAsync())! };
                failures.AddRange(await CheckSqlAsync(reader, provenance with { Where = provenance.Where + " (model hash)" }, Dashboards.Sql(provenance.Text, byHash)));
            }

            // The role reads and cannot write.
            await using (var write = new NpgsqlCommand("DELETE FROM images", reader))
            {
                var denied = await Assert.ThrowsAsync<PostgresException>(() => write.ExecuteNonQueryAsync());
                Assert.Contains(denied.SqlState, new[] { PostgresErrorCodes.ReadOnlySqlTransaction, PostgresErrorCodes.InsufficientPrivilege });
            }

            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
        finally
        {
            File.Delete(coordinatorTarget);
            File.Delete(workerTarget);
        }
    }

    private async Task<List<string>> CheckSqlAsync(NpgsqlConnection reader, DashboardQuery query, string sql)
    {
        var failures = new List<string>();
        await using var command = new NpgsqlCommand(sql, reader);
        try
        {
            await using var rows = await command.ExecuteReaderAsync();
            var columns = Enumerable.Range(0, rows.FieldCount).Select(rows.GetName).ToList();
            var count = 0;
            while (await rows.ReadAsync())
            {
                count++;
            }

            output.WriteLine($"{query.Where}: {count} rows, columns {string.Join(", ", columns)}");
            var missing = query.Columns.Except(columns).ToList();
            if (missing.Count > 0)
            {
                failures.Add($"{query.Where}: the panel shows {string.Join(", ", missing)}, which the query does not return ({string.Join(", ", columns)})");
            }

            if (count == 0)
            {
                failures.Add($"{query.Where}: no row for\n{sql}");
            }
        }
        catch (PostgresException e)
        {
            failures.Add($"{query.Where}: {e.MessageText}\n{sql}");
        }

        return failures;
    }

    private static async Task<List<JsonElement>> QueryAsync(HttpClient prometheus, string promql, DateTimeOffset? at)
    {
        var form = new Dictionary<string, string> { ["query"] = promql };
        if (at is { } time)
        {
            form["time"] = time.ToUnixTimeMilliseconds() / 1000.0 is var seconds ? seconds.ToString("F3", CultureInfo.InvariantCulture) : "";
        }

        using var response = await prometheus.PostAsync("api/v1/query", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("status").GetString() == "success", $"{promql}: {body}");
        return [.. body.GetProperty("data").GetProperty("result").EnumerateArray()];
    }

    /// <summary>Runs infra/grafana/grafana-reader.sql on the farm's database as its owner, as an operator would.</summary>
    private static async Task GrantReaderAsync(string database)
    {
        await using var owner = new NpgsqlConnection(database);
        await owner.OpenAsync();
        await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "grafana-reader.sql")), owner);
        await command.ExecuteNonQueryAsync();
    }

    private static string Target(Uri url) => JsonSerializer.Serialize(new[] { new { targets = new[] { url.Authority } } });
}
