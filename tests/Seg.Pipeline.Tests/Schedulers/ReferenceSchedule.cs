namespace Seg.Pipeline.Tests.Schedulers;

/// <summary>
/// The training noise schedule computed in double precision straight from its definition (DDPM, Ho et al. 2020;
/// the scaled_linear betas of latent diffusion), independent of the code under test. diffusers computes it in
/// float32, so comparisons against this use tolerances of about 1e-5.
/// </summary>
internal sealed class ReferenceSchedule
{
    private readonly double[] _alphasCumprod;

    private ReferenceSchedule(double betaStart, double betaEnd, int trainSteps)
    {
        _alphasCumprod = new double[trainSteps];
        var product = 1.0;
        for (var t = 0; t < trainSteps; t++)
        {
            var root = Math.Sqrt(betaStart) + (Math.Sqrt(betaEnd) - Math.Sqrt(betaStart)) * t / (trainSteps - 1);
            product *= 1 - root * root;
            _alphasCumprod[t] = product;
        }
    }

    /// <summary>SDXL base: scaled_linear betas from 0.00085 to 0.012 over 1000 steps.</summary>
    public static ReferenceSchedule Sdxl { get; } = new(0.00085, 0.012, 1000);

    public double AlphaCumprod(int t) => _alphasCumprod[t];

    /// <summary>sigma_t = sqrt((1 - abar_t) / abar_t).</summary>
    public double Sigma(int t) => Math.Sqrt((1 - _alphasCumprod[t]) / _alphasCumprod[t]);

    public double MinSigma => Sigma(0);

    public double MaxSigma => Sigma(_alphasCumprod.Length - 1);

    /// <summary>The fractional training step whose sigma is <paramref name="sigma"/>, interpolating log sigma linearly.</summary>
    public double TimestepOfSigma(double sigma)
    {
        var target = Math.Log(sigma);
        for (var t = 0; t < _alphasCumprod.Length - 1; t++)
        {
            double low = Math.Log(Sigma(t)), high = Math.Log(Sigma(t + 1));
            if (target <= high)
            {
                return t + Math.Clamp((target - low) / (high - low), 0, 1);
            }
        }
        return _alphasCumprod.Length - 1;
    }
}
