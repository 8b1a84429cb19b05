using System.Text.RegularExpressions;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// What an image of docker/ would hold, made without a Docker engine: the build context copied by the .dockerignore
/// rules, the build stage's own RUN commands run in it (they call scripts/publish.sh), and for each final stage the
/// folder its COPY --from=build puts at the working folder, its ENV, entry point and health check.
/// </summary>
public sealed partial class PublishedImages
{
    private readonly string _context;
    private readonly string _out;

    private PublishedImages(string root)
    {
        Root = root;
        _context = Path.Combine(root, "context");
        _out = Path.Combine(root, "out");
    }

    /// <summary>A temporary folder holding context/ (the build context) and out/ (the build stages' /out).</summary>
    public string Root { get; }

    /// <summary>Every RUN of the build stages, as run here.</summary>
    public List<ToolResult> BuildLog { get; } = [];

    public static string DockerfilePath(string name) => Path.Combine(TestPaths.RepoRoot, "docker", name);

    /// <summary>Copies the context and runs the build stage of each Dockerfile named.</summary>
    public static async Task<PublishedImages> BuildAsync(params string[] dockerfiles)
    {
        var images = new PublishedImages(Directory.CreateTempSubdirectory("seg-deploy-images-").FullName);
        try
        {
            var ignore = DockerIgnore.Load(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));
            foreach (var file in ignore.ContextFiles(TestPaths.RepoRoot))
            {
                var target = Path.Combine(images._context, file);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(TestPaths.RepoRoot, file), target);
            }
            foreach (var name in dockerfiles)
            {
                await images.RunBuildStageAsync(Dockerfile.Load(DockerfilePath(name)));
            }
            return images;
        }
        catch
        {
            Directory.Delete(images.Root, recursive: true);
            throw;
        }
    }

    /// <summary>The image of <paramref name="target"/>: its app folder here, environment, entry point and health check.</summary>
    public ImageTarget Target(string dockerfile, string target)
    {
        var stage = Dockerfile.Load(DockerfilePath(dockerfile)).Stage(target);
        var app = stage.Copies.LastOrDefault(c => c.FromStage == "build" && Path.TrimEndingDirectorySeparator(c.Destination) == stage.WorkingDirectory)
            ?? throw new InvalidOperationException($"{target}: no COPY --from=build into its WORKDIR {stage.WorkingDirectory}");
        var appFolder = ToHost(app.Sources.Single());
        Assert.True(Directory.Exists(appFolder), $"{target}: {app.Sources.Single()} was not made by the build stage ({appFolder})");
        return new ImageTarget(target, stage, appFolder, _context);
    }

    /// <summary>The folder here that a COPY --from=build of <paramref name="target"/> puts at <paramref name="destination"/>.</summary>
    public string CopiedFolder(ImageTarget target, string destination)
    {
        var copy = target.Stage.Copies.Single(c => c.FromStage == "build" && Path.TrimEndingDirectorySeparator(c.Destination) == destination);
        return ToHost(copy.Sources.Single());
    }

    private async Task RunBuildStageAsync(Dockerfile dockerfile)
    {
        var build = dockerfile.Stage("build");
        var copy = Assert.Single(build.Copies);
        Assert.True(copy.FromStage is null && copy.Sources.SequenceEqual(["."]) && copy.Destination == ".",
            $"{dockerfile.FilePath}: the build stage should COPY . . (the whole context into its WORKDIR)");
        foreach (var run in build.Runs)
        {
            // The image's /out is out/ here; the WORKDIR (/src) is the context copy.
            var command = OutFolder().Replace(build.Expand(run), _out);
            var result = await ToolRun.RunAsync("bash", ["-c", command], workingDirectory: _context, timeout: TimeSpan.FromMinutes(15));
            BuildLog.Add(result);
            Assert.True(result.Succeeded, $"{dockerfile.FilePath}: RUN failed here:\n{result}");
        }
    }

    /// <summary>A path of the image (/out/...) as a path here.</summary>
    private string ToHost(string imagePath) => OutFolder().IsMatch(imagePath)
        ? Path.TrimEndingDirectorySeparator(OutFolder().Replace(imagePath, _out))
        : throw new InvalidOperationException($"{imagePath} is not under /out");

    [GeneratedRegex("(?<![\\w/.])/out(?=/)")]
    private static partial Regex OutFolder();
}

/// <summary>One final stage: the published program here, and how the image starts and checks it.</summary>
/// <param name="Name">The stage's name (the build target).</param>
/// <param name="Stage">The stage as the Dockerfile writes it.</param>
/// <param name="AppFolder">The published program: what the image has in its working folder.</param>
/// <param name="ContextFolder">The build context, where the scripts the image copied come from.</param>
public sealed record ImageTarget(string Name, DockerStage Stage, string AppFolder, string ContextFolder)
{
    /// <summary>The ENV the image sets (its base image's own are not known here).</summary>
    public IReadOnlyDictionary<string, string> Environment => Stage.Environment;

    /// <summary>The ENTRYPOINT as run here (see <see cref="Map"/>).</summary>
    public IReadOnlyList<string> Command => Map(Stage.Entrypoint);

    /// <summary>The HEALTHCHECK CMD as run here.</summary>
    public IReadOnlyList<string> HealthCheck => Map(Stage.HealthCheck);

    /// <summary>A command of the image: a program the image copied from the context becomes <c>bash that-file</c>.</summary>
    public IReadOnlyList<string> Map(IReadOnlyList<string> command)
    {
        if (command.Count == 0)
        {
            return command;
        }
        var copy = Stage.Copies.SingleOrDefault(c => c.FromStage is null && c.Destination == command[0]);
        return copy is null ? command : ["bash", Path.Combine(ContextFolder, copy.Sources.Single()), .. command.Skip(1)];
    }
}
