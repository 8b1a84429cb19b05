using System.Collections.Concurrent;
using System.Diagnostics;

namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>
/// A published program started the way its image starts it: the image's command in the image's working folder (the
/// published app here), with exactly the environment given, nothing inherited but PATH (to find dotnet and bash).
/// Its output is kept for failure messages; disposing stops it (SIGTERM, then SIGKILL).
/// </summary>
public sealed class DeployedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private DeployedProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What it printed so far (stdout and stderr).</summary>
    public string Log => string.Join('\n', _lines);

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
        var deployed = new DeployedProcess(name, new Process { StartInfo = start });
        deployed.Run();
        return deployed;
    }

    public string Tail(int characters = 6000)
    {
        var log = Log;
        return $"--- {Name} (exited: {HasExited}) ---\n" + (log.Length > characters ? log[^characters..] : log);
    }

    /// <summary>Starts the process, keeping both of its output streams, line by line.</summary>
    private void Run()
    {
        void Keep(object sender, DataReceivedEventArgs line)
        {
            if (line.Data is not null)
            {
                _lines.Enqueue(line.Data);
            }
        }

        _process.OutputDataReceived += Keep;
        _process.ErrorDataReceived += Keep;
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
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
