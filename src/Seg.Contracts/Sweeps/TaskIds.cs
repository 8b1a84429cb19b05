using System.Globalization;
using System.Security.Cryptography;

namespace Seg.Contracts.Sweeps;

/// <summary>
/// Stable task ids: the id of task <c>i</c> of a sweep is the name-based UUID (version 5, RFC 9562 section 5.5)
/// of the name <c>i</c> (decimal, UTF-8) in the namespace of the sweep id. Expanding a sweep again gives the same
/// ids, so a redelivered or re-published task is recognised; anyone can recompute one, e.g. in Python with
/// <c>uuid.uuid5(uuid.UUID(sweep_id), str(i))</c>.
/// </summary>
public static class TaskIds
{
    /// <summary>Names up to this size are hashed from a buffer on the stack (a decimal task index is at most 20 bytes).</summary>
    private const int StackNameBytes = 128;

    /// <summary>The id of the task at <paramref name="taskIndex"/> in the sweep <paramref name="sweepId"/>.</summary>
    public static Guid For(Guid sweepId, long taskIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(taskIndex);
        Span<byte> name = stackalloc byte[20];
        taskIndex.TryFormat(name, out var length, provider: CultureInfo.InvariantCulture);
        return NameBased(sweepId, name[..length]);
    }

    /// <summary>
    /// A version-5 UUID of <paramref name="name"/> in <paramref name="namespaceId"/>. Written here because the base
    /// library has no name-based Guid and the algorithm (SHA-1 of namespace and name, version and variant bits) is
    /// a few lines; RFC 9562 requires SHA-1 here, for identity, not for security.
    /// </summary>
    internal static Guid NameBased(Guid namespaceId, ReadOnlySpan<byte> name)
    {
        // On the stack: a submit computes a million of these, and a task index's name is at most 20 bytes.
        Span<byte> input = name.Length <= StackNameBytes ? stackalloc byte[16 + name.Length] : new byte[16 + name.Length];
        namespaceId.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input[16..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
