using System.Runtime.CompilerServices;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Seg.Export;

/// <summary>
/// Parquet shards, one row per image: first <c>image</c>, a struct of <c>bytes</c> (the PNG) and <c>path</c>
/// (<c>KEY.png</c>) as <c>datasets</c>' Image feature stores it, then one typed column per <see cref="ExportColumns.All"/>
/// (int64 seed, double sigma with +Infinity for the infinite blur, UTC timestamps). The file's key-value metadata
/// <c>huggingface</c> holds the features (<c>{"info": {"features": ...}}</c>) so that <c>datasets</c> reads the image
/// column as images. Rows are written in row groups of at most <paramref name="rowGroupRows"/> rows or
/// <see cref="RowGroupBytes"/> of PNG, which bounds the memory a shard needs.
/// </summary>
/// <param name="rowGroupRows">Most rows in one row group.</param>
internal sealed class ParquetFormat(int rowGroupRows) : IShardFormat
{

    /// <summary>Most PNG bytes in one row group.</summary>
    public const long RowGroupBytes = 64L << 20;

    /// <summary>The key-value metadata key that <c>datasets</c> reads its features from.</summary>
    public const string HuggingFaceMetadataKey = "huggingface";

    private static readonly DataField ImageBytes = new("bytes", typeof(byte[]), isNullable: true);
    private static readonly DataField ImagePath = new("path", typeof(string), isNullable: true);
    private static readonly DataField[] ColumnFields = ExportColumns.All.Select(FieldOf).ToArray();

    /// <summary>The schema of every shard.</summary>
    public static ParquetSchema Schema { get; } = new([new StructField("image", ImageBytes, ImagePath), .. ColumnFields]);

    /// <summary>The <c>huggingface</c> metadata: the features as <c>datasets</c> writes them.</summary>
    public static string HuggingFaceMetadata { get; } = BuildHuggingFaceMetadata();

    public ExportFormat Format => ExportFormat.Parquet;

    public string Extension => "parquet";

    public async Task<IShardWriter> CreateAsync(Stream output, CancellationToken cancellationToken)
    {
        // No compression: the image column is PNG, compressed already, and is nearly all of a row.
        var writer = await ParquetWriter.CreateAsync(Schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.None }, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string> { [HuggingFaceMetadataKey] = HuggingFaceMetadata };
        return new Writer(writer, rowGroupRows);
    }

    public async IAsyncEnumerable<string> ReadKeysAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        var key = reader.Schema.DataFields.Single(f => f.Name == ExportColumns.Key);
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rows = reader.OpenRowGroupReader(group);
            var keys = new string?[rows.RowCount];
            await rows.ReadAsync(key, keys.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var k in keys)
            {
                yield return k ?? "";
            }
        }
    }

    public long SizeOf(ExportSample sample) => sample.Png.Length + 1024;

    private static DataField FieldOf(ExportColumn column) => column.Type switch
    {
        ExportType.String => new DataField(column.Name, typeof(string), isNullable: column.IsNullable),
        ExportType.Int32 => new DataField(column.Name, column.IsNullable ? typeof(int?) : typeof(int)),
        ExportType.Int64 => new DataField(column.Name, column.IsNullable ? typeof(long?) : typeof(long)),
        ExportType.Double => new DataField(column.Name, column.IsNullable ? typeof(double?) : typeof(double)),
        ExportType.Timestamp => new DateTimeDataField(column.Name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: column.IsNullable),
        _ => throw new InvalidOperationException($"unknown column type {column.Type}"),
    };

    private static string BuildHuggingFaceMetadata()
    {
        var features = new Dictionary<string, object> { ["image"] = new Dictionary<string, string> { ["_type"] = "Image" } };
        foreach (var column in ExportColumns.All)
        {
            features[column.Name] = new Dictionary<string, string>
            {
                ["dtype"] = column.Type switch
                {
                    ExportType.String => "string",
                    ExportType.Int32 => "int32",
                    ExportType.Int64 => "int64",
                    ExportType.Double => "float64",
                    _ => "timestamp[us, tz=UTC]",
                },
                ["_type"] = "Value",
            };
        }
        return JsonSerializer.Serialize(new Dictionary<string, object> { ["info"] = new Dictionary<string, object> { ["features"] = features } });
    }

    private sealed class Writer(ParquetWriter writer, int rowGroupRows) : IShardWriter
    {
        private readonly List<ExportSample> _rows = [];
        private long _bufferedBytes;

        public int Count { get; private set; }

        public async Task AddAsync(ExportSample sample, CancellationToken cancellationToken)
        {
            _rows.Add(sample);
            _bufferedBytes += sample.Png.Length;
            Count++;
            if (_rows.Count >= rowGroupRows || _bufferedBytes >= RowGroupBytes)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task CompleteAsync(CancellationToken cancellationToken)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            await writer.DisposeAsync().ConfigureAwait(false);
        }

        // Not the footer: a shard that failed half way must not end like a whole one.
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_rows.Count == 0)
            {
                return;
            }
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(ImageBytes, _rows.Select(r => r.Png).ToList()).ConfigureAwait(false);
            await group.WriteAsync(ImagePath, _rows.Select(r => $"{r.Key}.png").ToList()).ConfigureAwait(false);
            for (var i = 0; i < ColumnFields.Length; i++)
            {
                await WriteColumnAsync(group, ColumnFields[i], ExportColumns.All[i], i, cancellationToken).ConfigureAwait(false);
            }
            group.CompleteValidate();
            _rows.Clear();
            _bufferedBytes = 0;
        }

        private Task WriteColumnAsync(ParquetRowGroupWriter group, DataField field, ExportColumn column, int index, CancellationToken cancellationToken)
        {
            IEnumerable<object?> values = _rows.Select(r => r.Values[index]);
            return (column.Type, column.IsNullable) switch
            {
                (ExportType.String, _) => group.WriteAsync(field, values.Select(v => (string?)v).ToList()!),
                (ExportType.Int32, false) => group.WriteAsync<int>(field, new ReadOnlyMemory<int>(values.Select(v => (int)v!).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Int32, true) => group.WriteAsync<int>(field, new ReadOnlyMemory<int?>(values.Select(v => (int?)v).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Int64, false) => group.WriteAsync<long>(field, new ReadOnlyMemory<long>(values.Select(v => (long)v!).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Int64, true) => group.WriteAsync<long>(field, new ReadOnlyMemory<long?>(values.Select(v => (long?)v).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Double, false) => group.WriteAsync<double>(field, new ReadOnlyMemory<double>(values.Select(v => (double)v!).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Double, true) => group.WriteAsync<double>(field, new ReadOnlyMemory<double?>(values.Select(v => (double?)v).ToArray()), cancellationToken: cancellationToken),
                (ExportType.Timestamp, _) => group.WriteAsync<DateTime>(field, new ReadOnlyMemory<DateTime>(values.Select(v => ((DateTimeOffset)v!).UtcDateTime).ToArray()), cancellationToken: cancellationToken),
                _ => throw new InvalidOperationException($"unknown column type {column.Type}"),
            };
        }
    }
}
