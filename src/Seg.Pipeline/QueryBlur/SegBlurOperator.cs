using Seg.Parameters;

namespace Seg.Pipeline.QueryBlur;

/// <summary>
/// The SEG query blur as linear operators. The official pipeline (SusungHong/SEG-SDXL, <c>gaussian_blur_2d</c>)
/// convolves each query channel over the latent grid with a reflect-padded separable Gaussian; a 1-D
/// reflect-padded blur of length n is an n x n matrix B, so the 2-D blur of one channel X (H x W) is
/// <c>B_H X B_W^T</c>. The patched UNet multiplies by these matrices inside the graph.
/// </summary>
public static class SegBlurOperator
{
    /// <summary>A sigma strictly above this value means infinite blur: every query becomes the grid mean (<see cref="SegBlurSigma"/>).</summary>
    public const double InfiniteSigmaThreshold = SegBlurSigma.InfiniteThreshold;

    /// <summary>True when <paramref name="sigma"/> selects infinite blur (sigma above <see cref="InfiniteSigmaThreshold"/>).</summary>
    public static bool IsInfinite(double sigma) => SegBlurSigma.IsInfinite(sigma);

    /// <summary>
    /// The Gaussian kernel size the official pipeline uses for <paramref name="sigma"/> on a grid axis of
    /// <paramref name="gridLength"/>: <c>k = ceil(6 sigma) + 1 - (ceil(6 sigma) mod 2)</c> (always odd), capped at
    /// <c>gridLength</c> when it is odd and at <c>gridLength + 1</c> when it is even.
    /// </summary>
    /// <param name="sigma">Standard deviation, &gt; 0 and not infinite blur.</param>
    /// <param name="gridLength">Length of the grid axis, &gt;= 1.</param>
    /// <returns>The odd kernel size.</returns>
    public static int KernelSize(double sigma, int gridLength)
    {
        ValidateSigma(sigma);
        if (IsInfinite(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma,
                $"seg_blur_sigma {Format(sigma)} is infinite blur (> {InfiniteSigmaThreshold}), which has no Gaussian kernel");
        }
        ValidateLength(gridLength, nameof(gridLength));

        // Kept in double so that sigmas up to the threshold cannot overflow before the cap applies.
        var sixSigma = Math.Ceiling(6 * sigma);
        var uncapped = sixSigma + 1 - (sixSigma % 2);
        // Official cap: min(k, size - (size % 2 - 1)) -> size if odd, size + 1 if even.
        var cap = gridLength % 2 == 1 ? gridLength : gridLength + 1;
        return (int)Math.Min(uncapped, cap);
    }

    /// <summary>
    /// The normalised 1-D Gaussian taps for a kernel of <paramref name="kernelSize"/>: weights
    /// <c>exp(-x^2 / (2 sigma^2))</c> at <c>x = linspace(-(k-1)/2, (k-1)/2, k)</c>, divided by their sum.
    /// </summary>
    /// <param name="kernelSize">Odd kernel size, &gt;= 1.</param>
    /// <param name="sigma">Standard deviation, &gt; 0 and finite.</param>
    /// <returns>The <paramref name="kernelSize"/> taps, summing to 1.</returns>
    public static double[] KernelTaps(int kernelSize, double sigma)
    {
        if (kernelSize < 1 || kernelSize % 2 == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize,
                $"kernelSize must be odd and >= 1 (got {kernelSize})");
        }
        ValidateSigma(sigma);
        if (double.IsInfinity(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "seg_blur_sigma must be finite for Gaussian taps (got inf)");
        }

        var half = (kernelSize - 1) * 0.5;
        var taps = new double[kernelSize];
        var sum = 0.0;
        for (var t = 0; t < kernelSize; t++)
        {
            var x = (t - half) / sigma;
            taps[t] = Math.Exp(-0.5 * x * x);
            sum += taps[t];
        }
        for (var t = 0; t < kernelSize; t++)
        {
            taps[t] /= sum;
        }
        return taps;
    }

    /// <summary>
    /// The n x n row-major matrix B of the 1-D reflect-padded Gaussian blur on a grid axis of length
    /// <paramref name="n"/>: <c>B[i, j]</c> is the total weight output i takes from input j once the input is
    /// reflect-padded by <c>k / 2</c> on each side. Infinite blur gives <c>1/n</c> everywhere; a kernel of size 1
    /// (sigma &lt;= 1/6, or n = 1) gives the identity.
    /// </summary>
    /// <param name="n">Grid axis length, &gt;= 1.</param>
    /// <param name="sigma">Standard deviation, &gt; 0; <see cref="double.PositiveInfinity"/> or anything above
    /// <see cref="InfiniteSigmaThreshold"/> is infinite blur.</param>
    /// <returns>The matrix, row-major, length n*n.</returns>
    public static float[] Matrix(int n, double sigma)
    {
        ValidateSigma(sigma);
        ValidateLength(n, nameof(n));

        var matrix = new float[n * n];
        if (IsInfinite(sigma))
        {
            Array.Fill(matrix, 1f / n);
            return matrix;
        }

        var kernelSize = KernelSize(sigma, n);
        var taps = KernelTaps(kernelSize, sigma);
        var pad = kernelSize / 2;
        var weights = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var t = 0; t < kernelSize; t++)
            {
                var source = Reflect(i + t - pad, n);
                weights[(i * n) + source] += taps[t];
            }
        }
        for (var e = 0; e < weights.Length; e++)
        {
            matrix[e] = (float)weights[e];
        }
        return matrix;
    }

    /// <summary>The identity matrix of size n x n, row-major: the operator for batch items that are not blurred.</summary>
    /// <param name="n">Grid axis length, &gt;= 1.</param>
    /// <returns>The identity, length n*n.</returns>
    public static float[] Identity(int n)
    {
        ValidateLength(n, nameof(n));
        var matrix = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            matrix[(i * n) + i] = 1f;
        }
        return matrix;
    }

    /// <summary>
    /// The grid length of a UNet layer that runs at <paramref name="factor"/> times below the latent:
    /// the latent length halved log2(factor) times, rounding up each time (as strided convolutions do).
    /// </summary>
    /// <param name="latentLength">Latent height or width, &gt;= 1.</param>
    /// <param name="factor">Downsampling factor, a power of two &gt;= 1.</param>
    /// <returns>The grid length at that layer.</returns>
    public static int GridLength(int latentLength, int factor)
    {
        ValidateLength(latentLength, nameof(latentLength));
        if (factor < 1 || (factor & (factor - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, $"factor must be a power of two >= 1 (got {factor})");
        }
        var length = latentLength;
        for (var f = factor; f > 1; f >>= 1)
        {
            length = (length + 1) / 2;
        }
        return length;
    }

    // Single reflection (no edge repeat, as torch's "reflect"); the capped kernel keeps the pad <= n - 1.
    private static int Reflect(int index, int n)
    {
        if (index < 0)
        {
            index = -index;
        }
        else if (index >= n)
        {
            index = (2 * (n - 1)) - index;
        }
        return index;
    }

    private static void ValidateSigma(double sigma)
    {
        if (double.IsNaN(sigma) || sigma <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"seg_blur_sigma must be > 0 or inf (got {Format(sigma)})");
        }
    }

    private static void ValidateLength(int length, string name)
    {
        if (length < 1)
        {
            throw new ArgumentOutOfRangeException(name, length, $"{name} must be >= 1 (got {length})");
        }
    }

    private static string Format(double value) => SegBlurSigma.Format(value);
}
