namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>helm lint and helm template of helm/seg-farm (or a copy of it), the output read by <see cref="RenderedManifests"/>.</summary>
public sealed class SegFarmChart(DeployTools tools, string? folder = null)
{
    public static string DefaultFolder => Path.Combine(TestPaths.RepoRoot, "helm", "seg-farm");

    public string Folder { get; } = folder ?? DefaultFolder;

    /// <summary>The example values files (helm/seg-farm/examples/*.yaml).</summary>
    public static IReadOnlyList<string> Examples =>
        Directory.GetFiles(Path.Combine(DefaultFolder, "examples"), "*.yaml").Order(StringComparer.Ordinal).ToList();

    /// <summary>A values file of the tests (tests/Seg.Deploy.Tests/Values/NAME).</summary>
    public static string TestValues(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "Seg.Deploy.Tests", "Values", name);

    public Task<ToolResult> LintAsync(params string[] valuesFiles) =>
        ToolRun.RunAsync(tools.Helm, ["lint", "--strict", Folder, .. valuesFiles.SelectMany(f => new[] { "-f", f })]);

    public Task<ToolResult> TemplateAsync(IEnumerable<string> valuesFiles, IReadOnlyDictionary<string, string>? set = null) =>
        ToolRun.RunAsync(tools.Helm,
        [
            "template", "seg", Folder, "--namespace", "seg",
            .. valuesFiles.SelectMany(f => new[] { "-f", f }),
            .. (set ?? new Dictionary<string, string>()).SelectMany(p => new[] { "--set-string", $"{p.Key}={p.Value}" }),
        ]);

    /// <summary>helm template, which must succeed, then the objects read and schema-checked.</summary>
    public async Task<RenderedManifests> RenderAsync(IEnumerable<string> valuesFiles, IReadOnlyDictionary<string, string>? set = null)
    {
        var template = await TemplateAsync(valuesFiles, set);
        Assert.True(template.Succeeded, template.ToString());
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, template.Stdout);
            return await RenderedManifests.ReadAsync(tools, file);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
