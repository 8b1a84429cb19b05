using System.Diagnostics;
using System.Text;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// A published program started the way its image starts it: the image's command in the image's working folder (the
/// published app here), with exactly the environment given, nothing inherited but PATH (to find dotnet and bash).
/// Its output is kept for failure messages; disposing stops it (SIGTERM, then SIGKILL).
/// </summary>
public sealed class DeployedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private DeployedProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

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

    public static DeployedProcess Start(string name, ImageTarget image, IReadOnlyDictionary<string, string> environment, string home)
    {
        var start = new ProcessStartInfo(image.Command[0]) { WorkingDirectory = image.AppFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in image.Command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH");
        // A container's user has a home; .NET keeps its per-user files there.
        start.Environment["HOME"] = home;
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start };
        var deployed = new DeployedProcess(name, process);
        process.OutputDataReceived += (_, e) => deployed.Append(e.Data);
        process.ErrorDataReceived += (_, e) => deployed.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return deployed;
    }

    public string Tail(int characters = 6000)
    {
        var log = Log;
        return $"--- {Name} (exited: {HasExited}) ---\n" + (log.Length > characters ? log[^characters..] : log);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }
}
