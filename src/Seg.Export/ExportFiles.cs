namespace Seg.Export;

/// <summary>Writing files so that a reader, or a later <c>--resume</c>, never takes half a file for a whole one.</summary>
internal static class ExportFiles
{
    /// <summary>The suffix of files being written; a file with it is unfinished and is deleted on <c>--resume</c>.</summary>
    public const string PartialSuffix = ".partial";

    /// <summary>The unfinished name of <paramref name="path"/>: hidden, beside it.</summary>
    public static string PartialOf(string path) => Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}{PartialSuffix}");

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> through a partial file moved into place.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var partial = PartialOf(path);
        try
        {
            File.WriteAllBytes(partial, bytes);
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> straight to <paramref name="path"/>, for a file that only counts once a later
    /// record names it (an ImageFolder image and its <c>metadata.jsonl</c> line): one file-system entry instead of a
    /// partial file and a rename. A write that fails deletes what it wrote; a process killed half way leaves a file no
    /// record names, which <c>--resume</c> writes again because it trusts the records, not the folder.
    /// </summary>
    public static void WriteBeforeNaming(string path, byte[] bytes)
    {
        try
        {
            File.WriteAllBytes(path, bytes);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Deletes the unfinished files an interrupted export left in <paramref name="folder"/> and below.</summary>
    public static void DeletePartials(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*" + PartialSuffix, SearchOption.AllDirectories))
        {
            File.Delete(file);
        }
    }
}
