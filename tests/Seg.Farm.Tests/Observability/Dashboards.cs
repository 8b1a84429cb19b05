using System.Text.Json;
using System.Text.RegularExpressions;

namespace Seg.Farm.Tests.Observability;

/// <summary>A query of a dashboard: a panel's target or a variable's query, with the columns the panel shows.</summary>
/// <param name="Where">Dashboard and panel or variable, for messages.</param>
/// <param name="Datasource">Datasource uid (<see cref="Dashboards.Prometheus"/> or <see cref="Dashboards.Postgres"/>).</param>
/// <param name="Text">The query as the dashboard has it.</param>
/// <param name="Columns">Columns the panel shows (its organize transformation), or none.</param>
public sealed record DashboardQuery(string Where, string Datasource, string Text, IReadOnlyList<string> Columns);

/// <summary>The Grafana dashboards of infra/grafana/dashboards and the queries in them, with Grafana's variables filled in.</summary>
public static partial class Dashboards
{
    public const string Prometheus = "seg-prometheus";
    public const string Postgres = "seg-postgres";

    public static string Folder => Path.Combine(TestPaths.RepoRoot, "infra", "grafana", "dashboards");

    public static IEnumerable<string> Files => Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal);

    public static IEnumerable<DashboardQuery> Queries()
    {
        foreach (var file in Files)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var dashboard = json.RootElement.GetProperty("title").GetString();
            foreach (var variable in json.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
                         .Where(v => v.GetProperty("type").GetString() == "query"))
            {
                var query = variable.GetProperty("query");
                var text = query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString()! : query.GetString()!;
                yield return new DashboardQuery($"{dashboard} variable {variable.GetProperty("name")}", Uid(variable), text, ["__value", "__text"]);
            }

            foreach (var panel in json.RootElement.GetProperty("panels").EnumerateArray())
            {
                var columns = panel.TryGetProperty("transformations", out var transformations)
                    ? transformations.EnumerateArray().Where(t => t.GetProperty("id").GetString() == "organize")
                        .SelectMany(t => t.GetProperty("options").GetProperty("indexByName").EnumerateObject().Select(p => p.Name)).ToList()
                    : [];
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    var uid = Uid(target);
                    var text = uid == Postgres ? target.GetProperty("rawSql").GetString()! : target.GetProperty("expr").GetString()!;
                    yield return new DashboardQuery($"{dashboard} panel '{panel.GetProperty("title")}' {target.GetProperty("refId")}", uid, text, columns);
                }
            }
        }
    }

    /// <summary>SQL with Grafana's <c>${name:sqlstring}</c> variables replaced by quoted values.</summary>
    public static string Sql(string text, IReadOnlyDictionary<string, string> values) =>
        SqlStringVariable().Replace(text, m => "'" + values[m.Groups[1].Value].Replace("'", "''", StringComparison.Ordinal) + "'");

    /// <summary>PromQL with Grafana's variables replaced; <c>label_values(metric, label)</c> as the query it runs.</summary>
    public static string PromQl(string text, string rateInterval)
    {
        var labelValues = LabelValues().Match(text);
        if (labelValues.Success)
        {
            return $"count by ({labelValues.Groups[2].Value}) ({labelValues.Groups[1].Value})";
        }

        return text.Replace("$__rate_interval", rateInterval, StringComparison.Ordinal).Replace("$model", ".*", StringComparison.Ordinal);
    }

    /// <summary>Every Seg metric name the dashboards use.</summary>
    public static IReadOnlyList<string> MetricNames() =>
        [.. Queries().Where(q => q.Datasource == Prometheus).SelectMany(q => MetricName().Matches(q.Text).Select(m => m.Value)).Distinct().Order(StringComparer.Ordinal)];

    private static string Uid(JsonElement element) => element.GetProperty("datasource").GetProperty("uid").GetString()!;

    [GeneratedRegex(@"\$\{(\w+):sqlstring\}")]
    private static partial Regex SqlStringVariable();

    [GeneratedRegex(@"^label_values\((\w+),\s*(\w+)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\bseg_[a-z_]+\b")]
    private static partial Regex MetricName();
}
