namespace Seg.Pipeline.Noise;

/// <summary>
/// Reproduces <c>torch.Generator("cpu").manual_seed(seed)</c> followed by
/// <c>torch.randn(shape, generator=g, dtype=torch.float32)</c>, so a seed gives the same latents as diffusers.
/// </summary>
/// <remarks>
/// Written by hand because no .NET library reproduces torch's CPU sampling: torch's own mt19937
/// (<c>ATen/core/MT19937RNGEngine.h</c>), its uniform transformation (24 random bits per float, 53 per double),
/// and its two normal kernels (<c>normal_fill</c> for 16 or more values, <c>normal_distribution&lt;double&gt;</c>
/// with a cached second value below that). Consecutive calls continue the state exactly as consecutive
/// <c>torch.randn</c> calls on one generator do. Not thread-safe; use one instance per image.
/// </remarks>
public sealed class TorchGenerator
{
    private const int StateSize = 624;
    private const int ShiftSize = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    // torch's vectorised kernel works on blocks of 16: the first 8 values pair with the next 8.
    private const int BlockSize = 16;
    private const int HalfBlock = BlockSize / 2;

    // float(2 * pi), the constant torch's AVX2 normal_fill_16 multiplies with.
    private const float TwoPiSingle = (float)(2.0 * Math.PI);
    private const float FloatUnit = 1.0f / (1 << 24);
    private const double DoubleUnit = 1.0 / (1L << 53);

    private readonly uint[] _state = new uint[StateSize];
    private int _left;
    private int _next;
    private double? _nextDoubleNormal;

    /// <summary>Seeds the generator as <c>manual_seed(seed)</c> does.</summary>
    /// <param name="seed">Any 64-bit seed. Like torch, only its low 32 bits seed the Mersenne Twister.</param>
    public TorchGenerator(ulong seed)
    {
        Seed = seed;
        _state[0] = (uint)(seed & 0xffffffff);
        for (var j = 1; j < StateSize; j++)
        {
            _state[j] = 1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + (uint)j;
        }
        _left = 1;
        _next = 0;
    }

    /// <summary>The seed this generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>Draws <paramref name="count"/> standard normal values as one <c>torch.randn</c> call.</summary>
    /// <param name="count">Number of values (the tensor's element count).</param>
    /// <returns>The values in C order.</returns>
    public float[] Normal(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new float[count];
        FillNormal(values);
        return values;
    }

    /// <summary>Fills <paramref name="destination"/> as one <c>torch.randn</c> call of that many elements.</summary>
    /// <param name="destination">The tensor's storage, C order.</param>
    public void FillNormal(Span<float> destination)
    {
        if (destination.Length >= BlockSize)
        {
            FillNormalVectorised(destination);
        }
        else
        {
            FillNormalScalar(destination);
        }
    }

    /// <summary>The next 32-bit output of torch's mt19937 (<c>CPUGeneratorImpl::random</c>).</summary>
    internal uint NextUInt32()
    {
        if (--_left == 0)
        {
            Twist();
        }
        var y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary><c>CPUGeneratorImpl::random64</c>: the first 32-bit draw is the high word.</summary>
    private ulong NextUInt64()
    {
        ulong high = NextUInt32();
        ulong low = NextUInt32();
        return (high << 32) | low;
    }

    // at::uniform_real_distribution<float>(0, 1): the low 24 bits of one 32-bit draw.
    private float NextUniformSingle() => (NextUInt32() & 0xffffff) * FloatUnit;

    // at::uniform_real_distribution<double>(0, 1): the low 53 bits of one 64-bit draw.
    private double NextUniformDouble() => (NextUInt64() & ((1UL << 53) - 1)) * DoubleUnit;

    private void Twist()
    {
        var s = _state;
        for (var k = 0; k < StateSize; k++)
        {
            var mixed = (s[k] & UpperMask) | (s[(k + 1) % StateSize] & LowerMask);
            s[k] = s[(k + ShiftSize) % StateSize] ^ (mixed >> 1) ^ ((s[(k + 1) % StateSize] & 1) != 0 ? MatrixA : 0);
        }
        _left = StateSize;
        _next = 0;
    }

    // normal_fill: uniform fill of the whole tensor, Box-Muller on each block of 16; when the size is not a
    // multiple of 16, the last 16 positions are refilled with fresh uniforms and transformed again.
    private void FillNormalVectorised(Span<float> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = NextUniformSingle();
        }
        for (var i = 0; i + BlockSize <= data.Length; i += BlockSize)
        {
            BoxMullerBlock(data.Slice(i, BlockSize));
        }
        if (data.Length % BlockSize != 0)
        {
            var tail = data[^BlockSize..];
            for (var i = 0; i < BlockSize; i++)
            {
                tail[i] = NextUniformSingle();
            }
            BoxMullerBlock(tail);
        }
    }

    // normal_fill_16(_AVX2). torch evaluates log/sin/cos in single precision (SLEEF or avx_mathfun); the
    // double-precision evaluation here stays within 1e-6 of it.
    private static void BoxMullerBlock(Span<float> block)
    {
        for (var j = 0; j < HalfBlock; j++)
        {
            var u1 = 1.0f - block[j];
            var u2 = block[j + HalfBlock];
            var radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double theta = TwoPiSingle * u2;
            block[j] = (float)(radius * Math.Cos(theta));
            block[j + HalfBlock] = (float)(radius * Math.Sin(theta));
        }
    }

    // at::normal_distribution<double>: one pair of 53-bit uniforms gives two normals; the second is cached in
    // the generator and returned by the next scalar draw.
    private void FillNormalScalar(Span<float> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)NextNormalDouble();
        }
    }

    private double NextNormalDouble()
    {
        if (_nextDoubleNormal is { } cached)
        {
            _nextDoubleNormal = null;
            return cached;
        }
        var u1 = NextUniformDouble();
        var u2 = NextUniformDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u2));
        var theta = 2.0 * Math.PI * u1;
        _nextDoubleNormal = radius * Math.Sin(theta);
        return radius * Math.Cos(theta);
    }
}
