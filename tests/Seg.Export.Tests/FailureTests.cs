using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Seg.Storage;
using Seg.Storage.Blobs;

namespace Seg.Export.Tests;

/// <summary>A write that fails half way leaves no shard looking complete, and <c>--resume</c> goes on from what is whole.</summary>
[Collection(RunFolderCollection.Name)]
public sealed class FailureTests(RunFolder run)
{
    [Theory]
    [InlineData(ExportFormat.WebDataset)]
    [InlineData(ExportFormat.Parquet)]
    public async Task A_failure_half_way_deletes_the_partial_shard_and_resume_finishes_the_export(ExportFormat format)
    {
        var output = run.NewOutput();
        var options = new ExportOptions(format, output) { ShardSize = ShardSize.Parse("5") };
        using var provider = run.Services();
        using var scope = provider.CreateScope();
        var source = await OpenAsync(scope);

        // Fails on the 13th image: shards 0 and 1 are whole, shard 2 holds two images when the source breaks.
        var error = await Assert.ThrowsAsync<IOException>(() => DatasetExporter.ExportAsync(new FailingSource(source, 12), null, options, CancellationToken.None));
        Assert.Equal("the disk is gone", error.Message);
        Assert.Equal([".", "manifest.json", "x-000000", "x-000001"], Listing(output, format));
        var manifest = ExportManifest.Load(output)!;
        Assert.Equal([5, 5], manifest.Shards.Select(s => s.Count));

        var resumed = await DatasetExporter.ExportAsync(source, null, options with { Resume = true }, CancellationToken.None);
        Assert.Equal(14, resumed.Exported);
        Assert.Equal(10, resumed.Skipped);
        Assert.Equal([5, 5, 5, 5, 4], ExportManifest.Load(output)!.Shards.Select(s => s.Count));
    }

    [Theory]
    [InlineData(ExportFormat.WebDataset)]
    [InlineData(ExportFormat.Parquet)]
    public async Task A_stream_that_fails_half_way_does_not_end_like_a_whole_export(ExportFormat format)
    {
        using var provider = run.Services();
        using var scope = provider.CreateScope();
        var source = await OpenAsync(scope);
        using var whole = new MemoryStream();
        Assert.Equal(RunFolder.Images, await DatasetExporter.StreamAsync(source, format, ExportFilter.None, whole, CancellationToken.None));
        Assert.True(EndsLikeAWhole(whole.ToArray(), format));

        using var broken = new MemoryStream();
        await Assert.ThrowsAsync<IOException>(() => DatasetExporter.StreamAsync(new FailingSource(source, 3), format, ExportFilter.None, broken, CancellationToken.None));
        Assert.False(EndsLikeAWhole(broken.ToArray(), format));
    }

    [Fact]
    public async Task An_imagefolder_export_that_fails_half_way_names_only_whole_images()
    {
        var output = run.NewOutput();
        using var provider = run.Services();
        using var scope = provider.CreateScope();
        var source = await OpenAsync(scope);
        await Assert.ThrowsAsync<IOException>(() =>
            DatasetExporter.ExportAsync(new FailingSource(source, 7), null, new ExportOptions(ExportFormat.ImageFolder, output), CancellationToken.None));
        var lines = File.ReadAllLines(Path.Combine(output, "metadata.jsonl"));
        Assert.Equal(7, lines.Length);
        Assert.Equal(7, Directory.GetFiles(output, "*.png").Length);
        Assert.Empty(Directory.GetFiles(output, "*.partial"));
    }

    [Fact]
    public async Task A_half_image_left_by_a_killed_imagefolder_export_is_named_by_no_line_and_resume_rewrites_it()
    {
        using var provider = run.Services();
        using var scope = provider.CreateScope();
        var source = await OpenAsync(scope);
        var whole = run.NewOutput();
        await DatasetExporter.ExportAsync(source, null, new ExportOptions(ExportFormat.ImageFolder, whole), CancellationToken.None);
        var order = File.ReadAllLines(Path.Combine(whole, "metadata.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("file_name").GetString()!).ToList();

        // The state a kill during the 8th image leaves: 7 images with their lines, the 8th written half under its own name.
        var killed = run.NewOutput();
        var options = new ExportOptions(ExportFormat.ImageFolder, killed);
        await Assert.ThrowsAsync<IOException>(() => DatasetExporter.ExportAsync(new FailingSource(source, 7), null, options, CancellationToken.None));
        var png = File.ReadAllBytes(Path.Combine(whole, order[7]));
        File.WriteAllBytes(Path.Combine(killed, order[7]), png[..(png.Length / 2)]);
        Assert.Equal(8, Directory.GetFiles(killed, "*.png").Length);
        Assert.Equal(order[..7], File.ReadAllLines(Path.Combine(killed, "metadata.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("file_name").GetString()!));

        var resumed = await DatasetExporter.ExportAsync(source, null, options with { Resume = true }, CancellationToken.None);
        Assert.Equal(RunFolder.Images - 7, resumed.Exported);
        Assert.Equal(7, resumed.Skipped);
        // Byte for byte the export that was never interrupted: the half image written again in full, every line once.
        var files = Directory.GetFiles(whole).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, Directory.GetFiles(killed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(whole, file!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(killed, file!))), file);
        }
    }

    private static bool EndsLikeAWhole(byte[] bytes, ExportFormat format) => format == ExportFormat.Parquet
        ? bytes.Length > 12 && bytes.AsSpan()[^4..].SequenceEqual("PAR1"u8) // header magic, footer, its length, magic
        : bytes.Length >= 1024 && bytes.AsSpan()[^1024..].IndexOfAnyExcept((byte)0) < 0;

    private static List<string> Listing(string folder, ExportFormat format) =>
        [".", .. Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Select(n => n!.Replace("export_test", "x", StringComparison.Ordinal)
            .Replace(format == ExportFormat.Parquet ? ".parquet" : ".tar", "", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static Task<DatabaseExportSource> OpenAsync(IServiceScope scope)
    {
        var db = scope.ServiceProvider.GetRequiredService<SegDbContext>();
        var sweep = db.Sweeps.Single().Id;
        return DatabaseExportSource.OpenAsync(db, scope.ServiceProvider.GetRequiredService<IImageBlobStore>(), sweep, CancellationToken.None);
    }

    /// <summary>A source whose reads break after <paramref name="good"/> images, as a disk or a network does.</summary>
    private sealed class FailingSource(IExportSource inner, int good) : IExportSource
    {
        public string SweepName => inner.SweepName;

        public async IAsyncEnumerable<ExportSample> ReadAsync(ExportFilter filter, Func<string, bool> skip, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var n = 0;
            await foreach (var sample in inner.ReadAsync(filter, skip, cancellationToken))
            {
                if (n++ == good)
                {
                    throw new IOException("the disk is gone");
                }
                yield return sample;
            }
        }
    }
}
