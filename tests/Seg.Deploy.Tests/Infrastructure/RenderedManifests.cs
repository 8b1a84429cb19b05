using System.Text.Json;
using System.Text.Json.Nodes;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// The objects of a <c>helm template</c> run, read and schema-checked by Scripts/manifests.mjs (kubernetes-models and
/// @kubernetes-models/keda), with lookups by kind, name and component.
/// </summary>
public sealed class RenderedManifests
{
    private RenderedManifests(IReadOnlyList<JsonObject> objects, IReadOnlyList<string> schemaErrors)
    {
        Objects = objects;
        SchemaErrors = schemaErrors;
    }

    public IReadOnlyList<JsonObject> Objects { get; }

    /// <summary>Every object's schema violations (<c>Kind/name: message</c>); empty when all are valid.</summary>
    public IReadOnlyList<string> SchemaErrors { get; }

    public static async Task<RenderedManifests> ReadAsync(DeployTools tools, string yamlFile)
    {
        var result = await tools.ManifestsAsync("validate", yamlFile);
        Assert.True(result.Succeeded, result.ToString());
        var json = JsonNode.Parse(result.Stdout)!.AsObject();
        return new RenderedManifests(
            json["objects"]!.AsArray().Select(o => o!.AsObject()).ToList(),
            json["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList());
    }

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => (string?)o["metadata"]?["name"] == name)
        ?? throw new Xunit.Sdk.XunitException($"no {kind} {name} among: {string.Join(", ", Objects.Select(Describe))}");

    /// <summary>The one object of <paramref name="kind"/> labelled <c>app.kubernetes.io/component: component</c>.</summary>
    public JsonObject Component(string kind, string component)
    {
        var matches = OfKind(kind).Where(o => (string?)o["metadata"]?["labels"]?["app.kubernetes.io/component"] == component).ToList();
        return matches.Count == 1
            ? matches[0]
            : throw new Xunit.Sdk.XunitException($"{matches.Count} {kind} objects of component {component} among: {string.Join(", ", Objects.Select(Describe))}");
    }

    public static string Describe(JsonObject o) => $"{o["kind"]}/{o["metadata"]?["name"]}";

    public override string ToString() => JsonSerializer.Serialize(Objects, new JsonSerializerOptions { WriteIndented = true });
}
