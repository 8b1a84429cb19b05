using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// What the deployment tests share: the tools (installed once per run) and the images' published programs (published
/// once, on first use, by the Dockerfiles' own build commands), and a worker cache folder that stands for the
/// workers' cache volume, so the tiny model is generated once.
/// </summary>
public sealed class DeployFixture : IAsyncLifetime
{
    private readonly Lazy<Task<PublishedImages>> _images = new(() => PublishedImages.BuildAsync("coordinator.Dockerfile", "worker.Dockerfile"));

    private readonly Dictionary<string, Task<(RenderedManifests Manifests, System.Text.Json.Nodes.JsonObject Values)>> _renderings = [];

    public DeployTools Tools { get; private set; } = null!;

    /// <summary>
    /// helm/seg-farm rendered with a values file (null: the defaults) and the values that rendering used, once per
    /// file: many tests look at the same rendering.
    /// </summary>
    public Task<(RenderedManifests Manifests, System.Text.Json.Nodes.JsonObject Values)> RenderAsync(string? valuesFile)
    {
        lock (_renderings)
        {
            var key = valuesFile ?? "";
            if (!_renderings.TryGetValue(key, out var rendering))
            {
                rendering = _renderings[key] = RenderOnceAsync(valuesFile);
            }
            return rendering;
        }
    }

    private async Task<(RenderedManifests, System.Text.Json.Nodes.JsonObject)> RenderOnceAsync(string? valuesFile) =>
        (await new SegFarmChart(Tools).RenderAsync(valuesFile is null ? [] : [valuesFile]), await ChartValues.EffectiveAsync(Tools, valuesFile));

    public string WorkerCache { get; } = Directory.CreateTempSubdirectory("seg-deploy-cache-").FullName;

    /// <summary>The published images (the first call publishes: a few minutes).</summary>
    public Task<PublishedImages> ImagesAsync() => _images.Value;

    public async Task InitializeAsync() => Tools = await DeployTools.InstallAsync();

    public async Task DisposeAsync()
    {
        Directory.Delete(WorkerCache, recursive: true);
        if (_images.IsValueCreated && _images.Value.IsCompletedSuccessfully)
        {
            Directory.Delete((await _images.Value).Root, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DeployCollection : ICollectionFixture<DeployFixture>
{
    public const string Name = "deploy";
}
