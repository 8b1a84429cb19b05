using Seg.Deploy.Tests.Infrastructure;

namespace Seg.Deploy.Tests;

/// <summary>
/// The Dockerfiles, without a Docker engine: the linter, pinned bases, the version as a build argument, OCI labels,
/// non-root users, health checks, no secret and no download at run time, the build context the .dockerignore leaves,
/// and the build stages' own commands run here (they publish the programs through scripts/publish.sh).
/// </summary>
[Collection(DeployCollection.Name)]
public sealed class DockerfileTests(DeployFixture fixture)
{
    public static TheoryData<string> Dockerfiles => new(["coordinator.Dockerfile", "worker.Dockerfile"]);

    /// <summary>The final stages (images) of each Dockerfile.</summary>
    public static TheoryData<string, string> Images => new()
    {
        { "coordinator.Dockerfile", "coordinator" },
        { "worker.Dockerfile", "worker-cpu" },
        { "worker.Dockerfile", "worker-gpu" },
    };

    private static Dockerfile Load(string name) => Dockerfile.Load(PublishedImages.DockerfilePath(name));

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public async Task The_linter_finds_nothing(string name)
    {
        var lint = await ToolRun.RunAsync(fixture.Tools.DockerfileLint, ["lint", PublishedImages.DockerfilePath(name)]);
        Assert.True(lint.Succeeded && lint.Stdout.Trim().Length == 0 && lint.Stderr.Trim().Length == 0, lint.ToString());
    }

    [Fact]
    public async Task The_linter_reports_a_broken_Dockerfile()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "FROM ubuntu:24.04\nHEALTHCHECK --intervall=5s CMD true\n");
            var lint = await ToolRun.RunAsync(fixture.Tools.DockerfileLint, ["lint", file]);
            Assert.False(lint.Succeeded, lint.ToString());
            Assert.Contains("Unknown flag: intervall", lint.Stdout + lint.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Base_images_are_pinned_to_exact_versions(string name)
    {
        var dockerfile = Load(name);
        foreach (var stage in dockerfile.Stages.Where(s => s.BaseStage is null))
        {
            // registry/name:MAJOR.MINOR.PATCH[-variant]: no "latest", no floating "10.0".
            Assert.Matches(@"^[a-z0-9./-]+:\d+\.\d+\.\d+(-[a-z0-9.-]+)?$", stage.From);
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void The_version_is_a_build_argument_and_an_OCI_label(string name, string target)
    {
        var stage = Load(name).Stage(target);
        Assert.Equal(ChartTests.ProjectVersion(), stage.Args["VERSION"]);
        Assert.Equal(stage.Args["VERSION"], stage.Labels["org.opencontainers.image.version"]);
        foreach (var label in new[] { "title", "description", "revision", "created", "source", "base.name" })
        {
            Assert.True(stage.Labels.ContainsKey($"org.opencontainers.image.{label}"), $"{target}: no org.opencontainers.image.{label}");
        }
        Assert.Equal(stage.Args["VERSION"], Load(name).Stage("build").Args["VERSION"]);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Images_run_as_a_numeric_non_root_user_on_port_8080_with_a_health_check(string name, string target)
    {
        var stage = Load(name).Stage(target);
        Assert.Matches("^[1-9][0-9]*$", stage.User);
        Assert.Equal("8080", stage.Environment["ASPNETCORE_HTTP_PORTS"]);
        Assert.Contains(stage.Instructions, i => i.Keyword == "EXPOSE" && i.Arguments == "8080");
        Assert.Equal(["/usr/local/bin/seg-healthcheck", "/healthz"], stage.HealthCheck);
        Assert.NotEmpty(stage.Entrypoint);
        if (target.StartsWith("worker", StringComparison.Ordinal))
        {
            Assert.Equal("/models", stage.Environment["Worker__ModelRoot"]);
            Assert.Equal("/var/cache/seg", stage.Environment["Worker__CacheFolder"]);
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void No_secret_is_baked_into_an_image(string name)
    {
        foreach (var stage in Load(name).Stages)
        {
            foreach (var key in stage.Environment.Keys.Concat(stage.Args.Keys))
            {
                Assert.DoesNotMatch("(?i)password|secret|apikey|api_key|connectionstrings|token", key);
            }
        }
    }

    [Fact]
    public void Nothing_is_downloaded_when_a_container_starts()
    {
        foreach (var script in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "docker"), "*.sh"))
        {
            var code = File.ReadAllLines(script).Where(l => !l.TrimStart().StartsWith('#'));
            Assert.DoesNotMatch(@"\b(curl|wget|apt-get|apt|pip|npm|dotnet (restore|tool|add))\b", string.Join("\n", code));
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void The_build_stage_publishes_only_through_scripts_publish_sh(string name)
    {
        // One script for the images and the tests: a publish command written into a Dockerfile would go untested.
        var runs = Load(name).Stage("build").Runs;
        Assert.NotEmpty(runs);
        foreach (var run in runs)
        {
            Assert.DoesNotContain("dotnet publish", run);
            Assert.Contains("scripts/publish.sh", run);
        }
    }

    [Fact]
    public void The_build_context_holds_the_sources_and_no_secrets_caches_or_build_output()
    {
        var ignore = DockerIgnore.Load(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));
        foreach (var kept in new[] { "src/Seg.Worker/Program.cs", "src/Seg.Worker/appsettings.json", "scripts/publish.sh", "docker/healthcheck.sh", "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            Assert.False(ignore.IsExcluded(kept), $"{kept} is left out of the build context");
        }
        foreach (var left in new[] { ".env", ".git/config", ".cache/deploy-tools/bin/helm", "src/Seg.Worker/bin/Release/net10.0/Seg.Worker.dll", "src/Seg.Worker/obj/project.assets.json", "tests/Seg.Deploy.Tests/ChartTests.cs", "TestResults/run/x.trx", "scripts/test.sh", "helm/seg-farm/values.yaml" })
        {
            Assert.True(ignore.IsExcluded(left), $"{left} is in the build context");
        }
        // The real context of this checkout, as Docker would send it: only allowed top-level entries.
        var top = ignore.ContextFiles(TestPaths.RepoRoot).Select(f => f.Split('/')[0]).ToHashSet();
        Assert.Subset(new HashSet<string> { "src", "docker", "scripts", "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" }, top);
    }

    [Fact]
    public async Task The_build_stages_publish_the_programs_and_the_CPU_images_leave_out_the_CUDA_libraries()
    {
        var images = await fixture.ImagesAsync();
        var coordinator = images.Target("coordinator.Dockerfile", "coordinator");
        Assert.True(File.Exists(Path.Combine(coordinator.AppFolder, "Seg.Coordinator.dll")));
        Assert.True(File.Exists(Path.Combine(images.CopiedFolder(coordinator, "/opt/seg-cli"), "seg.dll")));
        Assert.False(File.Exists(Path.Combine(images.CopiedFolder(coordinator, "/opt/seg-cli"), "libonnxruntime_providers_cuda.so")));

        var gpu = images.Target("worker.Dockerfile", "worker-gpu");
        var cpu = images.Target("worker.Dockerfile", "worker-cpu");
        // The GPU image carries ONNX Runtime's CUDA provider; both have its CPU provider (in libonnxruntime.so).
        Assert.True(File.Exists(Path.Combine(gpu.AppFolder, "libonnxruntime_providers_cuda.so")));
        Assert.False(File.Exists(Path.Combine(cpu.AppFolder, "libonnxruntime_providers_cuda.so")));
        Assert.True(File.Exists(Path.Combine(cpu.AppFolder, "libonnxruntime.so")));
        // The version build argument reached the assemblies.
        var version = System.Diagnostics.FileVersionInfo.GetVersionInfo(Path.Combine(cpu.AppFolder, "Seg.Worker.dll"));
        Assert.StartsWith(ChartTests.ProjectVersion(), version.ProductVersion);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_worker_entry_point_expands_SEG_WORKER_DEVICES_and_leaves_explicit_devices_alone()
    {
        var script = Path.Combine(TestPaths.RepoRoot, "docker", "worker-entrypoint.sh");
        // A stand-in for dotnet that prints the device settings it was started with.
        var bin = Directory.CreateTempSubdirectory("seg-deploy-fake-dotnet-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(bin, "dotnet"), "#!/bin/sh\nenv | grep '^Worker__Devices__' | sort\necho \"args: $*\"\n");
            File.SetUnixFileMode(Path.Combine(bin, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            async Task<ToolResult> Run(Dictionary<string, string?> environment)
            {
                environment["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}";
                return await ToolRun.RunAsync("bash", [script], environment: environment, inheritEnvironment: false);
            }

            var list = await Run(new() { ["SEG_WORKER_DEVICES"] = "cuda:0,cuda:1" });
            Assert.True(list.Succeeded, list.ToString());
            Assert.Equal("Worker__Devices__0=cuda:0\nWorker__Devices__1=cuda:1\nargs: Seg.Worker.dll", list.Stdout.Trim());

            var explicitDevices = await Run(new() { ["SEG_WORKER_DEVICES"] = "all", ["Worker__Devices__0"] = "cuda:3" });
            Assert.Equal("Worker__Devices__0=cuda:3\nargs: Seg.Worker.dll", explicitDevices.Stdout.Trim());

            // `all` counts the GPUs the container sees; without one it refuses to start and says what to do.
            var all = await Run(new() { ["SEG_WORKER_DEVICES"] = "all" });
            if (File.Exists("/dev/nvidia0"))
            {
                Assert.StartsWith("Worker__Devices__0=cuda:0", all.Stdout);
            }
            else
            {
                Assert.False(all.Succeeded, all.ToString());
                Assert.Contains("sees no GPU", all.Stderr);
            }
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }
}
