using Seg.Pipeline.QueryBlur;

namespace Seg.Pipeline.Tests.QueryBlur;

public class SegBlurOperatorTests
{
    // Expected rows: the official gaussian_blur_2d applied to unit impulses (see the brief / DESIGN.md section 3).
    [Fact]
    public void Matrix_n8_sigma1_matches_official_rows()
    {
        var matrix = SegBlurOperator.Matrix(8, 1.0);
        AssertRow(matrix, 8, 0, [0.39905028, 0.48407246, 0.10801117, 0.0088661, 0, 0, 0, 0]);
        AssertRow(matrix, 8, 4, [0, 0.00443305, 0.05400558, 0.24203623, 0.39905028, 0.24203623, 0.05400558, 0.00443305]);
    }

    [Fact]
    public void Matrix_n7_sigma3_7_matches_official_row()
    {
        var matrix = SegBlurOperator.Matrix(7, 3.7);
        AssertRow(matrix, 7, 0, [0.16403834, 0.31631051, 0.2834839, 0.23616726, 0, 0, 0]);
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(2, 1.0)]
    [InlineData(3, 0.5)]
    [InlineData(8, 1.0)]
    [InlineData(8, 10.0)]
    [InlineData(7, 3.7)]
    [InlineData(64, 2.5)]
    [InlineData(128, 9999.0)]
    public void Rows_sum_to_one(int n, double sigma)
    {
        var matrix = SegBlurOperator.Matrix(n, sigma);
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < n; j++)
            {
                Assert.True(matrix[(i * n) + j] >= 0);
                sum += matrix[(i * n) + j];
            }
            Assert.Equal(1.0, sum, 1e-6);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(32)]
    public void Infinite_blur_is_uniform(int n)
    {
        foreach (var sigma in new[] { double.PositiveInfinity, 10000.0, 1e9 })
        {
            Assert.All(SegBlurOperator.Matrix(n, sigma), v => Assert.Equal(1f / n, v));
        }
    }

    [Fact]
    public void Sigma_at_threshold_is_still_gaussian()
    {
        // "Above 9999" is infinite; 9999 itself is a (capped, very wide) Gaussian, which is not uniform at the edges.
        var matrix = SegBlurOperator.Matrix(8, 9999);
        Assert.False(SegBlurOperator.IsInfinite(9999));
        Assert.NotEqual(matrix[0], matrix[7]);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1.0 / 6)]
    public void Tiny_sigma_is_identity(double sigma)
    {
        Assert.Equal(1, SegBlurOperator.KernelSize(sigma, 64));
        Assert.Equal(SegBlurOperator.Identity(6), SegBlurOperator.Matrix(6, sigma));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void Non_positive_sigma_is_rejected(double sigma)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SegBlurOperator.Matrix(8, sigma));
        Assert.StartsWith("seg_blur_sigma must be > 0 or inf (got ", error.Message);
    }

    [Fact]
    public void Empty_grid_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SegBlurOperator.Matrix(0, 1.0));
    }

    [Theory]
    // Uncapped: ceil(6 sigma) rounded up to odd.
    [InlineData(1.0, 64, 7)]
    [InlineData(0.5, 64, 3)]
    [InlineData(3.7, 64, 23)]
    [InlineData(10.0, 128, 61)]
    [InlineData(0.34, 64, 3)]
    [InlineData(0.3, 64, 3)]
    // Capped: an odd grid caps at its size, an even grid at size + 1.
    [InlineData(3.7, 7, 7)]
    [InlineData(3.7, 8, 9)]
    [InlineData(10.0, 16, 17)]
    [InlineData(10.0, 5, 5)]
    [InlineData(1.0, 2, 3)]
    [InlineData(1.0, 1, 1)]
    [InlineData(9999.0, 128, 129)]
    public void Kernel_size_follows_official_rule(double sigma, int grid, int expected)
    {
        Assert.Equal(expected, SegBlurOperator.KernelSize(sigma, grid));
    }

    [Fact]
    public void Kernel_size_of_infinite_blur_is_an_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SegBlurOperator.KernelSize(double.PositiveInfinity, 8));
    }

    [Fact]
    public void Even_grid_with_size_plus_one_kernel_reflects_like_torch()
    {
        // n = 4, k = 5 (cap of an even grid), pad 2: output 0 reads x[2], x[1], x[0], x[1], x[2].
        var taps = ReferenceBlur.Kernel(5.0, 4);
        Assert.Equal(5, taps.Length);
        var matrix = SegBlurOperator.Matrix(4, 5.0);
        Assert.Equal(taps[2], matrix[0], 1e-6);
        Assert.Equal(taps[1] + taps[3], matrix[1], 1e-6);
        Assert.Equal(taps[0] + taps[4], matrix[2], 1e-6);
        Assert.Equal(0, matrix[3]);
    }

    [Theory]
    [InlineData(128, 1, 128)]
    [InlineData(128, 2, 64)]
    [InlineData(128, 4, 32)]
    [InlineData(125, 2, 63)]
    [InlineData(125, 4, 32)]
    [InlineData(5, 4, 2)]
    [InlineData(7, 4, 2)]
    [InlineData(9, 4, 3)]
    [InlineData(1, 8, 1)]
    public void Grid_length_halves_rounding_up(int latent, int factor, int expected)
    {
        Assert.Equal(expected, SegBlurOperator.GridLength(latent, factor));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(-2)]
    public void Grid_factor_must_be_a_power_of_two(int factor)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SegBlurOperator.GridLength(64, factor));
    }

    private static void AssertRow(float[] matrix, int n, int row, double[] expected)
    {
        for (var j = 0; j < n; j++)
        {
            Assert.True(Math.Abs(expected[j] - matrix[(row * n) + j]) < 1e-6,
                $"B[{row},{j}] = {matrix[(row * n) + j]}, expected {expected[j]}");
        }
    }
}
