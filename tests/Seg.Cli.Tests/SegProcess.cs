using System.Diagnostics;

namespace Seg.Cli.Tests;

/// <summary>Runs the built <c>seg</c> command as a real process, with a private cache folder.</summary>
public sealed class SegProcess : IDisposable
{
    public string CacheDir { get; } = Path.Combine(Path.GetTempPath(), $"seg-cli-cache-{Guid.NewGuid():N}");

    public string WorkDir { get; } = Path.Combine(Path.GetTempPath(), $"seg-cli-work-{Guid.NewGuid():N}");

    public SegProcess() => Directory.CreateDirectory(WorkDir);

    public (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"seg {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts seg without waiting (a server); the caller kills it by its process.</summary>
    public Process Start(params string[] args)
    {
        var seg = Path.Combine(AppContext.BaseDirectory, "seg.dll");
        var start = new ProcessStartInfo("dotnet", [seg, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = WorkDir,
        };
        start.Environment["SEG_CACHE_DIR"] = CacheDir;
        return Process.Start(start) ?? throw new InvalidOperationException("seg did not start");
    }

    public void Dispose()
    {
        foreach (var dir in new[] { CacheDir, WorkDir })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
