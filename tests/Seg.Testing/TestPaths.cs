namespace Seg.Testing;

/// <summary>Locates the repository root and the shared reference folder that sits beside it.</summary>
public static class TestPaths
{
    /// <summary>The folder holding Seg.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The shared folder (DESIGN.md, reference values, CLIP vocabulary), a sibling of the repo.</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>A file under shared/reference.</summary>
    public static string Reference(string name) => Path.Combine(Shared, "reference", name);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Seg.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Seg.sln not found above the test binaries.");
    }
}
