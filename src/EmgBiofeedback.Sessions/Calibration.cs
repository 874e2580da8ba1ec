using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace EmgBiofeedback.Sessions;

/// <summary>
/// One muscle's normalisation reference: its rest level and its maximum voluntary contraction, RMS envelope µV, with
/// the method that produced them (ISEK's CEDE asks that the normalisation method be reported) and when.
/// </summary>
public sealed record MuscleCalibration(double RestMicrovolts, double MvcMicrovolts, string Method, DateTimeOffset CalibratedAt)
{
    /// <summary>The method of a calibration taken over from an earlier session (the original method is in its store).</summary>
    public const string ReusedMethod = "reused from an earlier session";

    /// <summary>%MVC of an envelope value: 100 × envelope / MVC (amplitude normalisation, no rest subtraction).</summary>
    public double PercentMvc(double envelopeMicrovolts) => 100.0 * envelopeMicrovolts / MvcMicrovolts;
}

/// <summary>
/// Configuration section "Sessions:Calibration": the guided calibration's windows and acceptance rules
/// (docs/clinical.md). All windows are on sample time.
/// </summary>
public sealed class CalibrationSettings
{
    /// <summary>Signal check: every montage electrode's quality clean for this long.</summary>
    [Range(1, 60)]
    public double SignalCheckSeconds { get; set; } = 3;

    /// <summary>Rest baseline window.</summary>
    [Range(2, 300)]
    public double RestSeconds { get; set; } = 10;

    /// <summary>Maximal contractions per muscle.</summary>
    [Range(1, 10)]
    public int Contractions { get; set; } = 3;

    /// <summary>Each contraction's window; at least the statistic's 1-s window.</summary>
    [Range(1, 30)]
    public double ContractionSeconds { get; set; } = 5;

    /// <summary>Rest between two contractions.</summary>
    [Range(0, 120)]
    public double RestBetweenSeconds { get; set; } = 5;

    /// <summary>The MVC must be at least this many times the rest level, or the calibration is refused.</summary>
    [Range(1.1, 1000)]
    public double MinMvcToRestRatio { get; set; } = 3;

    /// <summary>Share of a window's frames that must be valid (filters settled, no gap).</summary>
    [Range(0.5, 1)]
    public double MinValidShare { get; set; } = 0.9;

    /// <summary>The window over which each contraction's peak mean is taken, seconds.</summary>
    public const double PeakWindowSeconds = 1;

    /// <summary>
    /// The method stored with an MVC, from the windows actually used (so an offline analysis of the recording, which
    /// sees only the windows, states the same method).
    /// </summary>
    public static string MvcMethod(int contractions, double contractionSeconds, double rmsWindowMs) => string.Create(CultureInfo.InvariantCulture,
        $"median over {contractions} isometric MVC{(contractions == 1 ? "" : "s")} of {contractionSeconds:0.##} s of the highest 1-s mean of the RMS envelope ({rmsWindowMs:0.##} ms window)");

    public string RestMethod => string.Create(CultureInfo.InvariantCulture, $"mean RMS envelope over {RestSeconds:0.##} s at rest");
}

/// <summary>Why a channel's calibration window was refused, or null when it is clean.</summary>
public sealed record ChannelRefusal(string Label, string Reason);

/// <summary>
/// The calibration statistics, pure functions over a window of envelope frames of one channel. Quality rules: a frame
/// flagged flatline (electrode off) or clipping (ADC rail) refuses the window; so does a window with fewer than
/// <see cref="CalibrationSettings.MinValidShare"/> valid frames.
/// </summary>
public static class CalibrationMath
{
    /// <summary>Why a window is not clean enough to calibrate on, or null.</summary>
    public static string? QualityProblem(ReadOnlySpan<double> rms, ReadOnlySpan<byte> quality, ReadOnlySpan<bool> valid, double minValidShare)
    {
        if (rms.Length == 0)
        {
            return "no signal in the window (no frames)";
        }
        int flat = 0, clip = 0, ok = 0;
        for (int i = 0; i < rms.Length; i++)
        {
            flat += (quality[i] & QualityBits.Flatline) != 0 ? 1 : 0;
            clip += (quality[i] & QualityBits.Clipping) != 0 ? 1 : 0;
            ok += valid[i] ? 1 : 0;
        }
        if (flat > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"flat line in {100.0 * flat / rms.Length:0}% of the window: electrode off or cable unplugged");
        }
        if (clip > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"clipping in {100.0 * clip / rms.Length:0}% of the window: the signal reached the ADC's rail (lower the gain or check the electrode)");
        }
        if (ok < minValidShare * rms.Length)
        {
            return string.Create(CultureInfo.InvariantCulture, $"only {100.0 * ok / rms.Length:0}% of the window is valid signal (filters settling or samples lost)");
        }
        return null;
    }

    /// <summary>Rest level: the mean envelope over the window's valid frames.</summary>
    public static double RestLevel(ReadOnlySpan<double> rms, ReadOnlySpan<bool> valid)
    {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < rms.Length; i++)
        {
            if (valid[i])
            {
                sum += rms[i];
                n++;
            }
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>
    /// One contraction's value: the highest mean of the envelope over any run of <paramref name="windowFrames"/>
    /// consecutive frames inside it (invalid frames excluded from each mean); NaN when no run has a valid frame.
    /// </summary>
    public static double PeakMean(ReadOnlySpan<double> rms, ReadOnlySpan<bool> valid, int windowFrames)
    {
        int w = Math.Clamp(windowFrames, 1, Math.Max(1, rms.Length));
        double best = double.NaN;
        double sum = 0;
        int n = 0;
        for (int i = 0; i < rms.Length; i++)
        {
            if (valid[i])
            {
                sum += rms[i];
                n++;
            }
            if (i >= w && valid[i - w])
            {
                sum -= rms[i - w];
                n--;
            }
            if (i >= w - 1 && n > 0)
            {
                double mean = sum / n;
                if (!(mean <= best))
                {
                    best = mean;
                }
            }
        }
        return best;
    }

    /// <summary>The median of the contractions' values (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        double[] sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>The quality bits the layer reads (the values of the signal chain's SignalQualityFlags).</summary>
public static class QualityBits
{
    public const byte Flatline = 1;
    public const byte Clipping = 2;
    public const byte Mains = 4;
    public const byte NoisyBaseline = 8;
}
