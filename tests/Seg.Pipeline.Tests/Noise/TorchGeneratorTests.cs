using System.Buffers.Binary;
using System.Text.Json;
using Seg.Pipeline.Noise;

namespace Seg.Pipeline.Tests.Noise;

public class TorchGeneratorTests
{
    // torch's vectorised and scalar kernels differ by up to 2e-6 (reference/README.md).
    private const float Tolerance = 1e-5f;

    public static TheoryData<string> ReferenceFiles()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(TestPaths.Shared, "reference"), "randn_*.json").Order())
        {
            data.Add(Path.GetFileName(path));
        }
        return data;
    }

    [Fact]
    public void ReferenceFilesArePresent()
    {
        Assert.True(ReferenceFiles().Count >= 3, "expected the randn_*.bin references in shared/reference");
    }

    [Theory]
    [MemberData(nameof(ReferenceFiles))]
    public void MatchesTorchRandn(string sidecar)
    {
        var (seed, shape, expected) = LoadReference(sidecar);
        Assert.Equal(shape.Aggregate(1, (a, b) => a * b), expected.Length);

        var actual = new float[expected.Length];
        new TorchGenerator(seed).FillNormal(actual);

        AssertClose(expected, actual);
    }

    [Fact]
    public void Seed42LatentStartsWithTorchsValues()
    {
        var values = new TorchGenerator(42).Normal(4 * 128 * 128);

        float[] expected = [1.9269153f, 1.4872841f, 0.9007172f, -2.105521f];
        AssertClose(expected, values.AsSpan(0, 4).ToArray());
    }

    [Fact]
    public void OnlyTheLow32BitsOfTheSeedCount()
    {
        // torch's mt19937 stores `seed & 0xffffffff` as its first state word.
        var (_, _, expected) = LoadReference("randn_s42_1x4x128x128.json");
        var actual = new TorchGenerator((1UL << 32) + 42).Normal(expected.Length);

        AssertClose(expected, actual);
        Assert.NotEqual(new TorchGenerator(43).Normal(16), new TorchGenerator(42).Normal(16));
    }

    [Fact]
    public void MersenneTwisterMatchesTheStandardSequence()
    {
        // C++ [rand.predef]: the 10000th output of a default-seeded (5489) mt19937 is 4123659995.
        var generator = new TorchGenerator(5489);
        uint value = 0;
        for (var i = 0; i < 10000; i++)
        {
            value = generator.NextUInt32();
        }
        Assert.Equal(4123659995u, value);
    }

    [Fact]
    public void LastPartialBlockIsRedrawnAfterTheFullBlocks()
    {
        // 100 values: blocks 0..95 are transformed, then positions 84..99 are refilled with 16 fresh uniforms.
        // Positions 0..83 therefore equal the first 84 values of a 96-value call.
        var (seed, _, expected) = LoadReference("randn_s0_1x4x5x5.json");
        var ninetySix = new TorchGenerator(seed).Normal(96);

        AssertClose(expected.AsSpan(0, 84).ToArray(), ninetySix.AsSpan(0, 84).ToArray());
    }

    [Fact]
    public void ConsecutiveVectorisedCallsContinueTheStream()
    {
        // Blocks of 16 pair values within the block only, so two calls of 32 equal one call of 64.
        var generator = new TorchGenerator(7);
        var first = generator.Normal(32);
        var second = generator.Normal(32);
        var whole = new TorchGenerator(7).Normal(64);

        Assert.Equal(whole, first.Concat(second).ToArray());
    }

    [Fact]
    public void ScalarPathCachesTheSecondValueOfEachPair()
    {
        // Below 16 values torch draws pairs in double precision and keeps the sine half for the next draw:
        // 15 values then 1 value must equal 14 values then 2 values (8 pairs either way).
        var oddSplit = new TorchGenerator(0);
        var a = oddSplit.Normal(15).Concat(oddSplit.Normal(1)).ToArray();
        var evenSplit = new TorchGenerator(0);
        var b = evenSplit.Normal(14).Concat(evenSplit.Normal(2)).ToArray();

        Assert.Equal(b, a);

        // The cached value is spent, so the next scalar draw starts a new pair on both generators.
        Assert.Equal(evenSplit.Normal(3), oddSplit.Normal(3));
    }

    [Fact]
    public void ScalarPathConsumesTwo64BitDrawsPerPair()
    {
        var generator = new TorchGenerator(3);
        generator.Normal(2);
        var afterPair = generator.NextUInt32();

        var raw = new TorchGenerator(3);
        for (var i = 0; i < 4; i++)
        {
            raw.NextUInt32();
        }
        Assert.Equal(raw.NextUInt32(), afterPair);
    }

    [Fact]
    public void VectorisedPathConsumesOneDrawPerValuePlusSixteenForAPartialBlock()
    {
        var generator = new TorchGenerator(11);
        generator.Normal(20);
        var next = generator.NextUInt32();

        var raw = new TorchGenerator(11);
        for (var i = 0; i < 36; i++)
        {
            raw.NextUInt32();
        }
        Assert.Equal(raw.NextUInt32(), next);
    }

    [Fact]
    public void NegativeCountIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TorchGenerator(1).Normal(-1));
    }

    private static (ulong Seed, int[] Shape, float[] Values) LoadReference(string sidecar)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference(sidecar)));
        var root = json.RootElement;
        var seed = root.GetProperty("seed").GetUInt64();
        var shape = root.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var bytes = File.ReadAllBytes(TestPaths.Reference(root.GetProperty("file").GetString()!));
        var values = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }
        return (seed, shape, values);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        var worstIndex = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs(expected[i] - actual[i]);
            if (float.IsNaN(difference) || difference > worst)
            {
                worst = float.IsNaN(difference) ? float.PositiveInfinity : difference;
                worstIndex = i;
            }
        }
        if (worst > Tolerance)
        {
            Assert.Fail($"max |difference| {worst} at index {worstIndex}: expected {expected[worstIndex]}, got {actual[worstIndex]}");
        }
    }
}
