using System.Diagnostics;
using Seg.Pipeline.Imaging;

namespace Seg.Pipeline.Tests.Imaging;

public class NpyWriterTests
{
    [Fact]
    public void Header_is_padded_to_64_bytes_and_data_follows_little_endian()
    {
        var path = Path.Combine(Path.GetTempPath(), $"seg-npy-{Guid.NewGuid():N}.npy");
        NpyWriter.Write(path, new float[] { 1.5f, -2f, 3f, 4f, 5f, 6f }, [1, 2, 3]);
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);

        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        var headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        var header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'shape': (1, 2, 3)", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(1.5f, BitConverter.ToSingle(bytes, 10 + headerLength));
        Assert.Equal(6 * 4, bytes.Length - 10 - headerLength);
    }

    [Fact]
    public void Numpy_loads_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"seg-npy-{Guid.NewGuid():N}.npy");
        NpyWriter.Write(path, new float[] { 0.25f, -1f, 7f, 8f }, [2, 2]);
        try
        {
            var output = NumPy.Run($"import numpy as np; a = np.load('{path}'); print(a.dtype, a.shape, a[0, 0], a[1, 1])");
            Assert.Equal("float32 (2, 2) 0.25 8.0", output.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Runs Debian's python3 with NumPy (scripts/test.sh installs python3-numpy).</summary>
internal static class NumPy
{
    public static string Run(string code)
    {
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", code])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python3 with numpy failed (install Debian's python3-numpy): {error}");
        return output;
    }
}
