using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Seg.Storage;
using Seg.Storage.Blobs;
using Seg.Storage.Entities;

namespace Seg.Export.Tests;

/// <summary>
/// A standalone run folder made once for the tests by the real <c>seg run --fake-render</c>: 24 images (2 prompts,
/// 3 seeds, SEG scale 0 and 3, blur sigma inf and 2), SQLite provenance and a local image folder.
/// </summary>
public sealed class RunFolder : IDisposable
{
    public const int Images = 24;

    private const string Sweep = """
        name: export test
        model: tiny
        prompts: ["a cat", "a dog"]
        seeds: {start: 1, count: 3}
        seg_scale: [0, 3]
        seg_blur_sigma: [inf, 2]
        steps: [2]
        size: ["64x64"]
        """;

    public RunFolder()
    {
        Directory.CreateDirectory(Root);
        File.WriteAllText(Path.Combine(Root, "sweep.yaml"), Sweep);
        var (exit, stdout, stderr) = Seg("run", Path.Combine(Root, "sweep.yaml"), "--fake-render", "--out", Folder);
        Assert.True(exit == 0, $"seg run failed ({exit}):\n{stdout}\n{stderr}");
        Rows = LoadRows();
        Assert.Equal(Images, Rows.Count);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"seg-export-tests-{Guid.NewGuid():N}");

    /// <summary>The run folder (<c>provenance.db</c>, <c>images/</c>).</summary>
    public string Folder => Path.Combine(Root, "run");

    /// <summary>The provenance rows with their task's index, in task order.</summary>
    public IReadOnlyList<(ImageRecord Image, int TaskIndex)> Rows { get; }

    /// <summary>A new, not yet existing folder for an export.</summary>
    public string NewOutput() => Path.Combine(Root, $"out-{Guid.NewGuid():N}");

    /// <summary>The stored PNG of a task.</summary>
    public byte[] Png(Guid taskId) => File.ReadAllBytes(Path.Combine(Folder, "images", Rows.Single(r => r.Image.TaskId == taskId).Image.BlobName));

    /// <summary>Runs the built <c>seg</c> as a process.</summary>
    public (int ExitCode, string Stdout, string Stderr) Seg(params string[] args) => Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "seg.dll"), .. args]);

    /// <summary>Runs a program, waiting at most 3 minutes.</summary>
    public (int ExitCode, string Stdout, string Stderr) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        start.Environment["SEG_CACHE_DIR"] = Path.Combine(Root, "cache");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Opens the run folder's database and blob store as <c>seg export</c> does.</summary>
    public ServiceProvider Services()
    {
        var services = new ServiceCollection();
        services.AddSegStorageSqlite(Path.Combine(Folder, "provenance.db"), Path.Combine(Folder, "images"));
        return services.BuildServiceProvider();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private List<(ImageRecord, int)> LoadRows()
    {
        using var provider = Services();
        using var scope = provider.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        return db.Images.AsNoTracking().Join(db.RenderTasks, i => i.TaskId, t => t.Id, (i, t) => new { i, t.TaskIndex })
            .OrderBy(x => x.TaskIndex).AsEnumerable().Select(x => (x.i, x.TaskIndex)).ToList();
    }
}

[CollectionDefinition(Name)]
public sealed class RunFolderCollection : ICollectionFixture<RunFolder>
{
    public const string Name = "run folder";
}
