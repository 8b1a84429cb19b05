using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace Seg.Pipeline.Imaging;

/// <summary>
/// Adds and reads PNG text chunks. SkiaSharp encodes the pixels but cannot write text chunks, and the PNG
/// chunk format is four fields and a CRC, so inserting them by hand is simpler than another image library.
/// Latin-1 text goes into <c>tEXt</c> (what most readers show), anything else into UTF-8 <c>iTXt</c>.
/// </summary>
public static class PngTextChunks
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Returns a copy of <paramref name="png"/> with the text entries inserted after IHDR.</summary>
    public static byte[] Insert(ReadOnlySpan<byte> png, IEnumerable<KeyValuePair<string, string>> entries)
    {
        CheckSignature(png);
        var ihdrLength = BinaryPrimitives.ReadInt32BigEndian(png[8..]);
        var afterIhdr = 8 + 12 + ihdrLength;
        using var output = new MemoryStream(png.Length + 1024);
        output.Write(png[..afterIhdr]);
        foreach (var (keyword, text) in entries)
        {
            WriteChunk(output, IsLatin1(text) ? "tEXt" : "iTXt", TextChunkData(keyword, text));
        }
        output.Write(png[afterIhdr..]);
        return output.ToArray();
    }

    /// <summary>Reads every tEXt, iTXt and zTXt entry of a PNG, in file order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(ReadOnlySpan<byte> png)
    {
        CheckSignature(png);
        var entries = new List<KeyValuePair<string, string>>();
        var offset = 8;
        while (offset + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png[offset..]);
            var type = Encoding.ASCII.GetString(png.Slice(offset + 4, 4));
            var data = png.Slice(offset + 8, length);
            switch (type)
            {
                case "tEXt":
                    {
                        var zero = data.IndexOf((byte)0);
                        entries.Add(new(Encoding.Latin1.GetString(data[..zero]), Encoding.Latin1.GetString(data[(zero + 1)..])));
                        break;
                    }
                case "zTXt":
                    {
                        var zero = data.IndexOf((byte)0);
                        entries.Add(new(Encoding.Latin1.GetString(data[..zero]), Encoding.Latin1.GetString(Inflate(data[(zero + 2)..]))));
                        break;
                    }
                case "iTXt":
                    entries.Add(ReadInternationalText(data));
                    break;
                case "IEND":
                    return entries;
            }
            offset += 12 + length;
        }
        return entries;
    }

    private static KeyValuePair<string, string> ReadInternationalText(ReadOnlySpan<byte> data)
    {
        var zero = data.IndexOf((byte)0);
        var keyword = Encoding.Latin1.GetString(data[..zero]);
        var compressed = data[zero + 1] == 1;
        var rest = data[(zero + 3)..];
        var languageEnd = rest.IndexOf((byte)0);
        rest = rest[(languageEnd + 1)..];
        var translatedEnd = rest.IndexOf((byte)0);
        rest = rest[(translatedEnd + 1)..];
        var text = compressed ? Encoding.UTF8.GetString(Inflate(rest)) : Encoding.UTF8.GetString(rest);
        return new(keyword, text);
    }

    private static byte[] TextChunkData(string keyword, string text)
    {
        if (keyword.Length is 0 or > 79 || !IsLatin1(keyword))
        {
            throw new ArgumentException($"PNG text keyword must be 1-79 Latin-1 characters (got '{keyword}')", nameof(keyword));
        }
        using var data = new MemoryStream();
        data.Write(Encoding.Latin1.GetBytes(keyword));
        data.WriteByte(0);
        if (IsLatin1(text))
        {
            data.Write(Encoding.Latin1.GetBytes(text));
        }
        else
        {
            // iTXt: compression flag 0, method 0, empty language tag and translated keyword.
            data.Write([0, 0, 0, 0]);
            data.Write(Encoding.UTF8.GetBytes(text));
        }
        return data.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        Encoding.ASCII.GetBytes(type, header[4..]);
        output.Write(header);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(header[4..]);
        crc.Append(data);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc.GetCurrentHashAsUInt32());
        output.Write(crcBytes);
    }

    private static byte[] Inflate(ReadOnlySpan<byte> data)
    {
        using var input = new MemoryStream(data.ToArray());
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        zlib.CopyTo(output);
        return output.ToArray();
    }

    private static bool IsLatin1(string text)
    {
        foreach (var ch in text)
        {
            if (ch > 0xFF)
            {
                return false;
            }
        }
        return true;
    }

    private static void CheckSignature(ReadOnlySpan<byte> png)
    {
        if (png.Length < 8 + 25 || !png[..8].SequenceEqual(Signature))
        {
            throw new ArgumentException("not a PNG file (bad signature)", nameof(png));
        }
    }
}
