using System.Globalization;
using System.Text;

namespace Seg.Pipeline.Imaging;

/// <summary>
/// Writes float32 arrays in NumPy's .npy format (version 1.0). The format is a fixed header and the raw
/// little-endian data, so no library is needed for it.
/// </summary>
public static class NpyWriter
{
    /// <summary>Writes <paramref name="data"/> with <paramref name="shape"/> (C order) to <paramref name="path"/>.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, IReadOnlyList<long> shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values but {data.Length} were given", nameof(shape));
        }
        var dims = shape.Count == 1
            ? $"{shape[0]},"
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // Magic (6) + version (2) + header length (2) + header + '\n' is padded to a multiple of 64 bytes.
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException(".npy output is written on little-endian machines only");
        }
        stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
    }
}
