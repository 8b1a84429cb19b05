using System.Text.Json;
using System.Text.Json.Serialization;

namespace Seg.Export;

/// <summary>One finished shard: its file, how many samples it has, its size and SHA-256.</summary>
/// <param name="File">The file name.</param>
/// <param name="Count">Samples in it.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record ExportShard(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>
/// <c>manifest.json</c> of an export folder: what was exported and how, and (sharded formats) each finished shard. Written
/// after each shard (or at the end, ImageFolder) to a temporary file and moved into place; it names no time or
/// machine, so the same sweep exported twice gives the same manifest. <c>--resume</c> reads it to go on.
/// </summary>
/// <param name="Format">The format's name.</param>
/// <param name="SweepId">The sweep exported.</param>
/// <param name="Name">The shards' name (sharded formats).</param>
/// <param name="SplitBy">The parameter the images are split by (ImageFolder), or null.</param>
/// <param name="Count">Samples exported, all runs together.</param>
/// <param name="Shards">The finished shards, in order (sharded formats).</param>
public sealed record ExportManifest(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("sweep_id")] Guid? SweepId,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("split_by")] string? SplitBy,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("shards")] IReadOnlyList<ExportShard> Shards)
{
    /// <summary>The manifest's file name in an export folder.</summary>
    public const string FileName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Reads the manifest of <paramref name="folder"/>, or null when it has none.</summary>
    /// <exception cref="ExportException">The manifest cannot be read.</exception>
    public static ExportManifest? Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<ExportManifest>(File.ReadAllBytes(path), Json)
                ?? throw new ExportException($"{path}: is empty");
        }
        catch (JsonException e)
        {
            throw new ExportException($"{path}: is not an export manifest ({e.Message})");
        }
    }

    /// <summary>Writes the manifest into <paramref name="folder"/>, replacing the old one in one move.</summary>
    public void Save(string folder) => ExportFiles.WriteAtomically(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));
}
