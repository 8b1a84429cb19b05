using System.Runtime.InteropServices;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// Puts a model's external weight files next to a patched copy of its graph as hard links: ONNX Runtime 1.31 rejects
/// external data reached through a symlink that leaves the model folder, and the weights are never copied.
/// </summary>
internal static partial class ExternalDataLinks
{
    /// <summary>
    /// Hard-links each of <paramref name="locations"/> from <paramref name="sourceDirectory"/> into
    /// <paramref name="outputDirectory"/> (nothing to do when they are the same folder); a link already there is kept.
    /// </summary>
    public static void Link(IReadOnlyList<string> locations, string sourceDirectory, string outputDirectory)
    {
        var sameFolder = string.Equals(Path.GetFullPath(sourceDirectory), Path.GetFullPath(outputDirectory), StringComparison.Ordinal);
        foreach (var location in locations)
        {
            if (Path.IsPathRooted(location) || location.Split('/', '\\').Any(part => part == ".."))
            {
                throw new InvalidDataException($"External data location '{location}' must be a relative path inside the model folder.");
            }
            var source = Path.Combine(sourceDirectory, location);
            if (!File.Exists(source))
            {
                throw new FileNotFoundException($"The external data file '{location}' the UNet refers to is missing next to it.", source);
            }
            if (sameFolder)
            {
                continue;
            }

            var target = Path.Combine(outputDirectory, location);
            if (File.Exists(target) || Directory.Exists(target))
            {
                // A hard link shares size and modification time with its source; anything else is someone else's file.
                var (src, dst) = (new FileInfo(source), new FileInfo(target));
                if (dst.Exists && src.Length == dst.Length && src.LastWriteTimeUtc == dst.LastWriteTimeUtc)
                {
                    continue;
                }
                throw new IOException($"'{target}' already exists and is not the UNet's '{location}'; write the patched model to another folder.");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            HardLink(source, target);
        }
    }

    private static void HardLink(string source, string target)
    {
        if (LinkFile(source, target) == 0)
        {
            return;
        }
        var errno = Marshal.GetLastPInvokeError();
        throw new IOException(
            $"Cannot hard-link the external weights '{source}' to '{target}' ({Marshal.GetPInvokeErrorMessage(errno)}). " +
            "ONNX Runtime refuses external data reached through a symlink that leaves the model folder, and the weights " +
            "are never copied, so the patched model must be written on the same file system as the UNet.");
    }

    // .NET has no hard-link API; link(2) shares the weights without copying them.
    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkFile(string existingPath, string newPath);
}
