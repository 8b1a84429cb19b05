using System.Text.Json.Nodes;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// What the tests need besides the rendered objects: the values a rendering used (values.yaml with a values file on
/// top, merged as Helm merges maps) and placeholder contents for the Secrets the chart only names.
/// </summary>
public static class ChartValues
{
    /// <summary>values.yaml, then <paramref name="valuesFile"/> (if any) over it.</summary>
    public static async Task<JsonObject> EffectiveAsync(DeployTools tools, string? valuesFile)
    {
        var values = await ReadAsync(tools, Path.Combine(SegFarmChart.DefaultFolder, "values.yaml"));
        if (valuesFile is not null)
        {
            Merge(values, await ReadAsync(tools, valuesFile));
        }
        return values;
    }

    /// <summary>A YAML file as JSON.</summary>
    public static async Task<JsonObject> ReadAsync(DeployTools tools, string file)
    {
        var json = await tools.ManifestsAsync("json", file);
        Assert.True(json.Succeeded, json.ToString());
        return JsonNode.Parse(json.Stdout)!.AsArray().SingleOrDefault()?.AsObject() ?? [];
    }

    /// <summary>Every Secret the Deployments reference, each key with a placeholder value.</summary>
    public static Dictionary<string, IReadOnlyDictionary<string, string>> PlaceholderSecrets(RenderedManifests manifests)
    {
        var secrets = new Dictionary<string, Dictionary<string, string>>();
        foreach (var deployment in manifests.OfKind("Deployment"))
        {
            var container = PodEnvironment.Container(deployment);
            foreach (var source in container["envFrom"]?.AsArray() ?? [])
            {
                if (source!["secretRef"] is { } secret)
                {
                    secrets.TryAdd((string)secret["name"]!, []);
                }
            }
            foreach (var variable in container["env"]?.AsArray() ?? [])
            {
                if (variable!["valueFrom"]?["secretKeyRef"] is { } reference)
                {
                    var keys = secrets.TryGetValue((string)reference["name"]!, out var existing) ? existing : secrets[(string)reference["name"]!] = [];
                    keys[(string)reference["key"]!] = "placeholder";
                }
            }
        }
        return secrets.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, string>)p.Value);
    }

    /// <summary>The values as a string-keyed path lookup, e.g. <c>Int(values, "worker", "gpusPerPod")</c>.</summary>
    public static int Int(JsonObject values, params string[] path) => Node(values, path).GetValue<int>();

    public static string String(JsonObject values, params string[] path) => Node(values, path).GetValue<string>();

    private static JsonNode Node(JsonObject values, string[] path)
    {
        JsonNode node = values;
        foreach (var key in path)
        {
            node = node[key] ?? throw new Xunit.Sdk.XunitException($"values have no {string.Join('.', path)}");
        }
        return node;
    }

    /// <summary>Helm's merge: maps merge key by key, anything else is replaced.</summary>
    private static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source.ToList())
        {
            if (value is JsonObject map && target[key] is JsonObject existing)
            {
                Merge(existing, map);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }
}
