using Seg.Contracts.Messages;
using Seg.Pipeline;
using Seg.Storage.Blobs;
using Seg.Worker.Rendering;

namespace Seg.Worker.Tests.Infrastructure;

/// <summary>Counts the renders that reach the real renderer.</summary>
public sealed class CountingRenderer(ITaskRenderer inner) : ITaskRenderer
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Task<TaskRenderResult> RenderAsync(RenderTask task, RenderRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _count);
        return inner.RenderAsync(task, request, cancellationToken);
    }
}

/// <summary>A blob store whose n-th upload (1-based) throws what <c>failure</c> returns for it.</summary>
public sealed class FlakyBlobStore(IImageBlobStore inner, Func<int, Exception?> failure) : IImageBlobStore
{
    private int _uploads;

    public int Uploads => Volatile.Read(ref _uploads);

    public Task<StoredImage> UploadPngAsync(string name, ReadOnlyMemory<byte> png, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _uploads);
        if (failure(n) is { } error)
        {
            throw error;
        }

        return inner.UploadPngAsync(name, png, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) => inner.OpenReadAsync(name, cancellationToken);

    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) => inner.ExistsAsync(name, cancellationToken);
}
