namespace Seg.Pipeline.Tests.QueryBlur;

/// <summary>
/// An independent, plainly written 2-D Gaussian blur of the query grid following the official
/// <c>gaussian_blur_2d</c> (SusungHong/SEG-SDXL): kernel size from <c>ceil(6 sigma)</c>, capped at the grid length,
/// taps on <c>linspace(-(k-1)/2, (k-1)/2, k)</c>, reflect padding of k/2, direct 2-D convolution with the outer
/// product kernel. Deliberately does not use the blur matrices of the code under test.
/// </summary>
internal static class ReferenceBlur
{
    /// <summary>Blurs one batch item of a query laid out [N = H*W, C] (row-major grid); infinite sigma = grid mean.</summary>
    public static double[] Blur(ReadOnlySpan<float> query, int height, int width, int channels, double sigma)
    {
        var output = new double[height * width * channels];
        if (double.IsPositiveInfinity(sigma) || sigma > 9999)
        {
            for (var c = 0; c < channels; c++)
            {
                var sum = 0.0;
                for (var n = 0; n < height * width; n++)
                {
                    sum += query[(n * channels) + c];
                }
                for (var n = 0; n < height * width; n++)
                {
                    output[(n * channels) + c] = sum / (height * width);
                }
            }
            return output;
        }

        var rowKernel = Kernel(sigma, height);
        var colKernel = Kernel(sigma, width);
        var rowPad = rowKernel.Length / 2;
        var colPad = colKernel.Length / 2;
        for (var h = 0; h < height; h++)
        {
            for (var w = 0; w < width; w++)
            {
                for (var c = 0; c < channels; c++)
                {
                    var sum = 0.0;
                    for (var a = 0; a < rowKernel.Length; a++)
                    {
                        var sourceRow = Mirror(h + a - rowPad, height);
                        for (var b = 0; b < colKernel.Length; b++)
                        {
                            var sourceCol = Mirror(w + b - colPad, width);
                            sum += rowKernel[a] * colKernel[b] * query[(((sourceRow * width) + sourceCol) * channels) + c];
                        }
                    }
                    output[(((h * width) + w) * channels) + c] = sum;
                }
            }
        }
        return output;
    }

    /// <summary>The official 1-D kernel for an axis of <paramref name="size"/>.</summary>
    public static double[] Kernel(double sigma, int size)
    {
        var ceil = (int)Math.Ceiling(6 * sigma);
        var kernelSize = ceil + 1 - (ceil % 2);
        kernelSize = Math.Min(kernelSize, size - ((size % 2) - 1));
        var half = (kernelSize - 1) * 0.5;
        var pdf = new double[kernelSize];
        for (var i = 0; i < kernelSize; i++)
        {
            var x = kernelSize == 1 ? 0 : -half + (i * (2 * half / (kernelSize - 1)));
            pdf[i] = Math.Exp(-0.5 * Math.Pow(x / sigma, 2));
        }
        var total = pdf.Sum();
        return pdf.Select(p => p / total).ToArray();
    }

    // torch "reflect": mirror about the edge samples without repeating them, as often as needed.
    private static int Mirror(int index, int size)
    {
        if (size == 1)
        {
            return 0;
        }
        var period = 2 * (size - 1);
        index = ((index % period) + period) % period;
        return index < size ? index : period - index;
    }
}
