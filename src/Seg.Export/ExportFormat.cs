namespace Seg.Export;

/// <summary>The dataset layouts a sweep exports to.</summary>
public enum ExportFormat
{
    /// <summary>Hugging Face ImageFolder: PNGs in folders, each folder with a <c>metadata.jsonl</c>.</summary>
    ImageFolder,

    /// <summary>WebDataset: tar shards of <c>KEY.png</c> + <c>KEY.json</c> samples.</summary>
    WebDataset,

    /// <summary>Parquet files with the image as <c>datasets</c>' Image feature stores it.</summary>
    Parquet,
}

/// <summary>Names of the formats as users write them.</summary>
public static class ExportFormats
{
    /// <summary>Every format's name, as <c>--format</c> and <c>?format=</c> take it.</summary>
    public static IReadOnlyList<string> Names { get; } = ["imagefolder", "webdataset", "parquet"];

    /// <summary>The name of <paramref name="format"/>.</summary>
    public static string Name(ExportFormat format) => Names[(int)format];

    /// <summary>Reads a format name (any case).</summary>
    /// <param name="text">The name.</param>
    /// <param name="field">The field that carried it, for the error (<c>--format</c>, <c>format</c>).</param>
    /// <exception cref="ExportException">No format has that name.</exception>
    public static ExportFormat Parse(string? text, string field)
    {
        var index = Names.ToList().IndexOf((text ?? "").Trim().ToLowerInvariant());
        return index >= 0
            ? (ExportFormat)index
            : throw new ExportException($"{field}: unknown format '{text}'; use {string.Join(", ", Names)}");
    }
}
