using System.Security.Cryptography;

namespace Seg.Export;

/// <summary>
/// A forward-only write stream over another that counts the bytes written (Parquet.Net reads <see cref="Position"/>,
/// an HTTP response cannot tell it) and hashes them with SHA-256 on the way, so a shard's manifest entry needs no
/// second read of the file.
/// </summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _written;

    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException("an export stream is written forward only");
    }

    /// <summary>The SHA-256 of everything written, lower-case hex.</summary>
    public string Sha256() => Convert.ToHexStringLower(_sha256.GetCurrentHash());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Count(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Count(buffer.Span);
    }

    // Parquet.Net flushes after each page, synchronously: forwarded, that would be a synchronous write to an HTTP
    // response, which Kestrel refuses. The data is written through already; the export flushes asynchronously at the end.
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("an export stream is written forward only");

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sha256.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Count(ReadOnlySpan<byte> buffer)
    {
        _sha256.AppendData(buffer);
        _written += buffer.Length;
    }
}
