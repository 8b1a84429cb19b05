namespace Seg.Deploy.Tests.Infrastructure;

/// <summary>A file in the temp folder that is deleted on dispose.</summary>
public sealed class TemporaryFile(string path) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose() => File.Delete(Path);
}
