using System.Text;
using System.Text.Json.Nodes;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// The environment a container of a rendered Deployment gets, resolved as the kubelet does it: the image's ENV
/// underneath, then <c>envFrom</c> in order, then <c>env</c> (value, or valueFrom a ConfigMap key, a Secret key or a
/// field of the pod). ConfigMaps and Secrets come from the rendered objects, else from the secrets given (the test's
/// values for the Secrets the chart only names). A reference to something missing fails, as the pod would
/// (CreateContainerConfigError), unless marked optional.
/// </summary>
public static class PodEnvironment
{
    public static Dictionary<string, string> Resolve(
        JsonObject deployment,
        RenderedManifests manifests,
        IReadOnlyDictionary<string, string> imageEnvironment,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets,
        IReadOnlyDictionary<string, string> podFields)
    {
        var container = Container(deployment);
        var environment = new Dictionary<string, string>(imageEnvironment);
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            var (kind, reference) = source!["configMapRef"] is { } map ? ("ConfigMap", map) : ("Secret", source["secretRef"]!);
            var data = Data(kind, (string)reference["name"]!, manifests, secrets, (bool?)reference["optional"] == true);
            foreach (var (key, value) in data ?? new Dictionary<string, string>())
            {
                environment[(string?)source["prefix"] + key] = value;
            }
        }
        foreach (var variable in container["env"]?.AsArray() ?? [])
        {
            var name = (string)variable!["name"]!;
            var value = Value(variable.AsObject(), manifests, secrets, podFields);
            if (value is not null)
            {
                Assert.False(value.Contains("$("), $"{name}: $(VAR) references are not resolved by this test");
                environment[name] = value;
            }
        }
        return environment;
    }

    /// <summary>The first container of a Deployment's pod template.</summary>
    public static JsonObject Container(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();

    /// <summary>The pod template's spec.</summary>
    public static JsonObject PodSpec(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!.AsObject();

    private static string? Value(
        JsonObject variable,
        RenderedManifests manifests,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets,
        IReadOnlyDictionary<string, string> podFields)
    {
        if (variable["valueFrom"] is not JsonObject from)
        {
            return (string?)variable["value"] ?? "";
        }
        if (from["fieldRef"] is { } field)
        {
            var path = (string)field["fieldPath"]!;
            return podFields.TryGetValue(path, out var fieldValue) ? fieldValue : throw new Xunit.Sdk.XunitException($"no test value for the pod field {path}");
        }
        var (kind, reference) = from["configMapKeyRef"] is { } map ? ("ConfigMap", map) : ("Secret", from["secretKeyRef"]!);
        var optional = (bool?)reference["optional"] == true;
        var data = Data(kind, (string)reference["name"]!, manifests, secrets, optional);
        var key = (string)reference["key"]!;
        if (data is not null && data.TryGetValue(key, out var value))
        {
            return value;
        }
        return optional ? null : throw new Xunit.Sdk.XunitException($"{variable["name"]}: {kind} {reference["name"]} has no key {key}");
    }

    private static IReadOnlyDictionary<string, string>? Data(
        string kind,
        string name,
        RenderedManifests manifests,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets,
        bool optional)
    {
        var rendered = manifests.OfKind(kind).SingleOrDefault(o => (string?)o["metadata"]?["name"] == name);
        if (rendered is not null)
        {
            var data = (rendered["data"]?.AsObject() ?? []).ToDictionary(p => p.Key, p => kind == "Secret"
                ? Encoding.UTF8.GetString(Convert.FromBase64String((string)p.Value!))
                : (string)p.Value!);
            foreach (var (key, value) in rendered["stringData"]?.AsObject() ?? [])
            {
                data[key] = (string)value!;
            }
            return data;
        }
        if (kind == "Secret" && secrets.TryGetValue(name, out var existing))
        {
            return existing;
        }
        return optional ? null : throw new Xunit.Sdk.XunitException($"the pod needs {kind} {name}, which is neither rendered nor given by the test");
    }
}
