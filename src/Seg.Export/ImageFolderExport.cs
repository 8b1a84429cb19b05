using System.Text;
using System.Text.Json;

namespace Seg.Export;

/// <summary>
/// A Hugging Face ImageFolder: <c>KEY.png</c> files and a <c>metadata.jsonl</c> whose lines hold <c>file_name</c> and
/// every column, in the folder itself or, split by a parameter, in one folder per value (<c>seg_scale=3/</c>). Each PNG is
/// written under its final name and closed before its line is appended, so every line names a whole image; a PNG that
/// an export killed half way leaves behind is named by no line. <c>--resume</c> trusts <c>metadata.jsonl</c>, not the
/// folder: it drops a last line cut off half way and writes again (overwrites) every image that no line names yet.
/// </summary>
internal sealed class ImageFolderExport(ExportOptions options)
{
    /// <summary>The metadata file of each folder.</summary>
    public const string MetadataFile = "metadata.jsonl";

    /// <summary>Most metadata files kept open at once (a split by seed may have a folder per image).</summary>
    private const int MaxOpenMetadataFiles = 64;

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public async Task<ExportResult> RunAsync(IExportSource source, Guid? sweepId, CancellationToken cancellationToken)
    {
        var folder = options.OutputFolder;
        var splitBy = options.SplitBy?.Name;
        var previous = options.Resume ? ExportManifest.Load(folder) : null;
        if (previous is not null && (previous.Format != ExportFormats.Name(ExportFormat.ImageFolder) || previous.SplitBy != splitBy))
        {
            throw new ExportException($"--resume: {folder} holds a {previous.Format} export{(previous.SplitBy is null ? "" : $" split by {previous.SplitBy}")}, " +
                                      $"not imagefolder{(splitBy is null ? "" : $" split by {splitBy}")}");
        }
        var done = options.Resume ? await ExportedKeysAsync(folder, cancellationToken).ConfigureAwait(false) : new ExportedKeys();

        var metadata = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        // Directories made so far: one mkdir per folder, not one per image.
        var created = new HashSet<string>(StringComparer.Ordinal);
        var exported = 0;
        try
        {
            await foreach (var sample in source.ReadAsync(options.Filter, done.Skip, cancellationToken).ConfigureAwait(false))
            {
                var split = options.SplitBy is { } parameter
                    ? ExportNames.SplitFolder(parameter.Name, parameter.FormatValue(sample.Get(parameter.Name)))
                    : "";
                var directory = Path.Combine(folder, split);
                if (created.Add(directory))
                {
                    Directory.CreateDirectory(directory);
                }
                var fileName = $"{sample.Key}.png";
                // Synchronous: for files of kilobytes the thread pool's async file I/O costs more than the write. Straight
                // under its name (no partial file and rename: half the file-system work), since only its line names it.
                ExportFiles.WriteBeforeNaming(Path.Combine(directory, fileName), sample.Png);

                var line = ExportJson.Serialize(sample.Values, ("file_name", fileName));
                var stream = MetadataOf(metadata, directory);
                stream.Write(line);
                stream.Write(NewLine);
                folders.Add(split.Length == 0 ? "." : split);
                exported++;
            }
        }
        finally
        {
            foreach (var stream in metadata.Values)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        // The lines are the truth (a run that failed half way wrote lines but no manifest).
        var count = done.Count + exported;
        new ExportManifest(ExportFormats.Name(ExportFormat.ImageFolder), sweepId, null, splitBy, count, []).Save(folder);
        return new ExportResult(exported, done.Skipped, folders.ToList());
    }

    private static FileStream MetadataOf(Dictionary<string, FileStream> open, string directory)
    {
        if (open.TryGetValue(directory, out var stream))
        {
            return stream;
        }
        if (open.Count >= MaxOpenMetadataFiles)
        {
            foreach (var other in open.Values)
            {
                other.Dispose();
            }
            open.Clear();
        }
        stream = new FileStream(Path.Combine(directory, MetadataFile), FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        open[directory] = stream;
        return stream;
    }

    /// <summary>The keys named by the metadata files of <paramref name="folder"/>, after cutting off a last line left half written.</summary>
    private static async Task<ExportedKeys> ExportedKeysAsync(string folder, CancellationToken cancellationToken)
    {
        var keys = new ExportedKeys();
        if (!Directory.Exists(folder))
        {
            return keys;
        }
        foreach (var path in Directory.EnumerateFiles(folder, MetadataFile, SearchOption.AllDirectories))
        {
            TruncateToLastLine(path);
            using var reader = new StreamReader(path, Encoding.UTF8);
            var number = 0;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                number++;
                try
                {
                    using var json = JsonDocument.Parse(line);
                    var fileName = json.RootElement.GetProperty("file_name").GetString() ?? "";
                    keys.Add(Path.GetFileNameWithoutExtension(fileName));
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    throw new ExportException($"{path}: line {number} is not a metadata line with a file_name ({e.Message})");
                }
            }
        }
        return keys;
    }

    private static void TruncateToLastLine(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var length = file.Length;
        var end = length;
        var one = new byte[1];
        while (end > 0)
        {
            file.Position = end - 1;
            file.ReadExactly(one);
            if (one[0] == '\n')
            {
                break;
            }
            end--;
        }
        if (end != length)
        {
            file.SetLength(end);
        }
    }
}
