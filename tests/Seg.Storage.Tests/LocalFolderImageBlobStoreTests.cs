using System.Security.Cryptography;
using Seg.Storage.Blobs;

namespace Seg.Storage.Tests;

public sealed class LocalFolderImageBlobStoreTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seg-blobs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Lists_every_name_in_ordinal_order_across_folders_without_temporary_files()
    {
        var store = new LocalFolderImageBlobStore(_root);
        string[] names = ["images/ab/cd/x.png", "images.png", "a/b.png", "a.png", "a-b.png", "Z.png", "0003-seed2-sigma1-seg3-cfg5.png", "images/ab/c.png"];
        foreach (var name in names)
        {
            await store.UploadPngAsync(name, AzureImageBlobStoreTests.FakePng(10), None);
        }

        await File.WriteAllBytesAsync(Path.Combine(_root, ".a.png.0123.tmp"), [1]);

        Assert.True(await store.StoreExistsAsync(None));
        Assert.Equal(names.Order(StringComparer.Ordinal), await store.ListNamesAsync(None).ToListAsync());
    }

    [Fact]
    public async Task Writes_one_file_per_task_under_the_same_names_as_blob_storage()
    {
        var store = new LocalFolderImageBlobStore(_root);
        var taskId = Guid.NewGuid();
        var png = AzureImageBlobStoreTests.FakePng(2048);

        var first = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), png, None);
        var second = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), png, None);

        Assert.Equal(BlobWriteOutcome.Created, first.Outcome);
        Assert.Equal(BlobWriteOutcome.AlreadyPresent, second.Outcome);
        Assert.Equal(ImageBlobNames.ForTask(taskId), first.BlobName);
        Assert.Equal(Convert.ToBase64String(MD5.HashData(png)), first.ContentMd5);
        Assert.Equal("file", first.Uri.Scheme);
        var path = first.Uri.LocalPath;
        Assert.Equal(Path.Combine(_root, first.BlobName), path);
        Assert.Equal(png, await File.ReadAllBytesAsync(path));

        // Only the image: no temporary files left behind.
        Assert.Equal([path], Directory.GetFiles(_root, "*", SearchOption.AllDirectories));
        Assert.True(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
    }

    [Fact]
    public async Task Different_bytes_replace_the_file_and_reads_see_them()
    {
        var store = new LocalFolderImageBlobStore(_root);
        var taskId = Guid.NewGuid();
        await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), AzureImageBlobStoreTests.FakePng(100, seed: 1), None);
        var replacement = AzureImageBlobStoreTests.FakePng(300, seed: 2);

        var result = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), replacement, None);

        Assert.Equal(BlobWriteOutcome.Replaced, result.Outcome);
        await using var read = await store.OpenReadAsync(ImageBlobNames.ForTask(taskId), None);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(replacement, copy.ToArray());
    }

    [Fact]
    public async Task Missing_images_are_reported()
    {
        var store = new LocalFolderImageBlobStore(_root);
        var taskId = Guid.NewGuid();
        Assert.False(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.OpenReadAsync(ImageBlobNames.ForTask(taskId), None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.UploadPngAsync(ImageBlobNames.ForTask(taskId), ReadOnlyMemory<byte>.Empty, None));
    }
}
