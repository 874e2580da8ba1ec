using System.Numerics;

namespace EmgBiofeedback.Dsp;

/// <summary>
/// One second-order section, H(z) = (B0 + B1 z^-1 + B2 z^-2) / (1 + A1 z^-1 + A2 z^-2), as SciPy's sos rows
/// [b0, b1, b2, 1, a1, a2].
/// </summary>
public readonly record struct BiquadSection(double B0, double B1, double B2, double A1, double A2)
{
    /// <summary>Complex response at a normalised angular frequency w (radians per sample).</summary>
    public Complex Response(double w)
    {
        Complex z1 = Complex.FromPolarCoordinates(1, -w);
        Complex z2 = z1 * z1;
        return (B0 + (B1 * z1) + (B2 * z2)) / (1 + (A1 * z1) + (A2 * z2));
    }

    /// <summary>Largest pole radius: how slowly the section's transients die out.</summary>
    public double MaxPoleRadius
    {
        get
        {
            double disc = (A1 * A1) - (4 * A2);
            if (disc < 0)
            {
                return Math.Sqrt(A2);
            }
            double s = Math.Sqrt(disc);
            return Math.Max(Math.Abs((-A1 + s) / 2), Math.Abs((-A1 - s) / 2));
        }
    }
}

/// <summary>
/// A comb notch, H(z) = B0 (1 - z^-Delay) / (1 - A z^-Delay), as SciPy's <c>iircomb(f, Q, ftype='notch', fs)</c>
/// (b = [B0, 0, ..., 0, -B0], a = [1, 0, ..., 0, -A]): nulls at every multiple of fs / Delay from DC to Nyquist.
/// </summary>
public readonly record struct CombNotch(int Delay, double B0, double A)
{
    /// <summary>Complex response at a normalised angular frequency w (radians per sample).</summary>
    public Complex Response(double w)
    {
        Complex zn = Complex.FromPolarCoordinates(1, -w * Delay);
        return B0 * (1 - zn) / (1 - (A * zn));
    }

    /// <summary>Group delay at a normalised angular frequency w, in samples (undefined exactly at a null).</summary>
    public double GroupDelaySamples(double w)
    {
        Complex zn = Complex.FromPolarCoordinates(1, -w * Delay);
        return (Delay * -zn / (1 - zn)).Real - (Delay * -A * zn / (1 - (A * zn))).Real;
    }

    /// <summary>Radius of the poles (all equal): a^(1/Delay).</summary>
    public double PoleRadius => Math.Pow(Math.Abs(A), 1.0 / Delay);
}
