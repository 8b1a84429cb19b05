using System.Diagnostics;
using System.Text;

namespace Seg.Farm.Tests;

/// <summary>A coordinator or worker started as a real process from its build output, its output kept for failures.</summary>
public sealed class FarmProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private FarmProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote so far (stdout and stderr), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts <c>dotnet &lt;project&gt;.dll</c> from the project's build output with the given environment.</summary>
    public static FarmProcess Start(string name, string project, IReadOnlyDictionary<string, string> environment)
    {
        var dll = Path.Combine(RepoRoot, "src", project, "bin", Configuration, "net10.0", $"{project}.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build the solution first (scripts/test.sh does)", dll);
        }
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var farmProcess = new FarmProcess(name, process);
        process.OutputDataReceived += (_, e) => farmProcess.Append(e.Data);
        process.ErrorDataReceived += (_, e) => farmProcess.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return farmProcess;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    /// <summary>SIGKILL: the process dies at once, in the middle of whatever it does.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM, then waits up to <paramref name="timeout"/> for a graceful exit.</summary>
    public bool Terminate(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill?.WaitForExit();
        return _process.WaitForExit(timeout);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }
        _process.Dispose();
    }

    public static string RepoRoot => TestPaths.RepoRoot;

    /// <summary>Debug or Release: the configuration this test assembly was built in (bin/&lt;cfg&gt;/net10.0).</summary>
    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
}
