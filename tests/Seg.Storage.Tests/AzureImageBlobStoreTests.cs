using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs.Models;
using Seg.Storage.Blobs;

namespace Seg.Storage.Tests;

public sealed class AzureImageBlobStoreTests(AzuriteContainerFixture azurite) : IClassFixture<AzuriteContainerFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private AzureImageBlobStore NewStore() =>
        new(new BlobStorageOptions { ConnectionString = TestServices.Blobs, ContainerName = azurite.ContainerName });

    [Fact]
    public async Task Uploading_twice_keeps_one_blob_with_the_same_md5_under_a_hash_prefixed_name()
    {
        var taskId = Guid.NewGuid();
        var png = FakePng(1000);
        using var store = NewStore();

        var first = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), png, None);
        using var secondStore = NewStore();
        var second = await secondStore.UploadPngAsync(ImageBlobNames.ForTask(taskId), png, None);

        Assert.Equal(BlobWriteOutcome.Created, first.Outcome);
        Assert.Equal(BlobWriteOutcome.AlreadyPresent, second.Outcome);
        Assert.Equal(first.BlobName, second.BlobName);
        Assert.Equal(first.Uri, second.Uri);
        var expectedMd5 = Convert.ToBase64String(MD5.HashData(png));
        Assert.Equal(expectedMd5, first.ContentMd5);
        Assert.Equal(expectedMd5, second.ContentMd5);

        // images/ab/cd/<id>.png with ab, cd the first bytes of sha256("<id>") (as printf %s ID | sha256sum).
        var hex = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(taskId.ToString())));
        Assert.Equal($"images/{hex[..2]}/{hex[2..4]}/{taskId}.png", first.BlobName);
        Assert.Matches(new Regex("^images/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f-]{36}\\.png$"), first.BlobName);
        Assert.EndsWith($"/{azurite.ContainerName}/{first.BlobName}", first.Uri.AbsolutePath);

        var blobs = new List<BlobItem>();
        await foreach (var blob in azurite.Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"images/{hex[..2]}/{hex[2..4]}/{taskId}", None))
        {
            blobs.Add(blob);
        }

        var stored = Assert.Single(blobs);
        Assert.Equal("image/png", stored.Properties.ContentType);
        Assert.Equal(expectedMd5, Convert.ToBase64String(stored.Properties.ContentHash));
        Assert.Equal(png.Length, stored.Properties.ContentLength);
    }

    [Fact]
    public async Task A_container_deleted_under_the_store_is_created_again_and_the_upload_succeeds()
    {
        var options = new BlobStorageOptions { ConnectionString = TestServices.Blobs, ContainerName = $"recreate-{Guid.NewGuid():N}" };
        var container = new Azure.Storage.Blobs.BlobContainerClient(options.ConnectionString, options.ContainerName);
        try
        {
            using var store = new AzureImageBlobStore(options);
            Assert.False(await store.StoreExistsAsync(None));
            Assert.True((await store.UploadPngAsync(ImageBlobNames.ForTask(Guid.NewGuid()), FakePng(100), None)).ContainerCreated);
            Assert.False((await store.UploadPngAsync(ImageBlobNames.ForTask(Guid.NewGuid()), FakePng(100), None)).ContainerCreated);
            // The blob store restarted empty (or someone deleted the container): the store knew it had one.
            await container.DeleteAsync(cancellationToken: None);
            Assert.False(await store.StoreExistsAsync(None));
            Assert.Empty(await store.ListNamesAsync(None).ToListAsync());

            var taskId = Guid.NewGuid();
            var stored = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), FakePng(200), None);

            Assert.Equal(BlobWriteOutcome.Created, stored.Outcome);
            // The upload that made the container again says so: the worker reports it, the coordinator audits.
            Assert.True(stored.ContainerCreated);
            Assert.True(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
            Assert.Equal([ImageBlobNames.ForTask(taskId)], await store.ListNamesAsync(None).ToListAsync());
        }
        finally
        {
            await container.DeleteIfExistsAsync(cancellationToken: None);
        }
    }

    [Fact]
    public async Task Different_bytes_replace_an_earlier_attempt()
    {
        var taskId = Guid.NewGuid();
        using var store = NewStore();
        await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), FakePng(500, seed: 1), None);

        var replacement = FakePng(700, seed: 2);
        var result = await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), replacement, None);

        Assert.Equal(BlobWriteOutcome.Replaced, result.Outcome);
        await using var read = await store.OpenReadAsync(ImageBlobNames.ForTask(taskId), None);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(replacement, copy.ToArray());
    }

    [Fact]
    public async Task Concurrent_uploads_of_one_image_store_it_once()
    {
        var taskId = Guid.NewGuid();
        var png = FakePng(4000);
        using var store = NewStore();

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => store.UploadPngAsync(ImageBlobNames.ForTask(taskId), png, None)));

        Assert.Single(results, r => r.Outcome == BlobWriteOutcome.Created);
        Assert.All(results, r => Assert.NotEqual(BlobWriteOutcome.Replaced, r.Outcome));
    }

    [Fact]
    public async Task Open_and_exists_report_missing_images()
    {
        var taskId = Guid.NewGuid();
        using var store = NewStore();
        Assert.False(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => store.OpenReadAsync(ImageBlobNames.ForTask(taskId), None));
        Assert.Contains(taskId.ToString(), error.Message);

        await store.UploadPngAsync(ImageBlobNames.ForTask(taskId), FakePng(10), None);
        Assert.True(await store.ExistsAsync(ImageBlobNames.ForTask(taskId), None));
    }

    [Fact]
    public void Invalid_container_names_and_missing_connection_strings_are_refused_by_name()
    {
        var bad = Assert.Throws<ArgumentException>(() =>
            new AzureImageBlobStore(new BlobStorageOptions { ConnectionString = TestServices.Blobs, ContainerName = "Seg_Images" }));
        Assert.Contains("BlobStorage:ContainerName", bad.Message);
        Assert.Contains("(got 'Seg_Images')", bad.Message);

        var missing = Assert.Throws<ArgumentException>(() => new AzureImageBlobStore(new BlobStorageOptions()));
        Assert.Contains("ConnectionStrings:Blobs", missing.Message);
    }

    /// <summary>Bytes that start like a PNG; the store does not decode them.</summary>
    internal static byte[] FakePng(int length, int seed = 0)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        signature.CopyTo(bytes, 0);
        return bytes;
    }
}
