using System.Globalization;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Dsp;

/// <summary>
/// Settings of the per-channel signal chain, bound from the configuration section <c>Dsp</c>.
/// Every default is cited in docs/signal-chain.md. Filter settings apply to every channel of a
/// board (they share one sample rate and one mains); gain and ADC offset can differ per channel.
/// </summary>
public sealed class SignalChainOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Dsp";

    /// <summary>
    /// Voltage gain from the electrodes to the ADC input (V/V). Default 200: the MyoWare 2.0
    /// RAW output (Advancer Technologies, MyoWare 2.0 Advanced Guide: "The RAW output has a gain of 200").
    /// </summary>
    public double SensorGain { get; set; } = 200;

    /// <summary>ADC count that corresponds to 0 V at the electrodes; null = mid-scale, 2^(bits-1).</summary>
    public double? AdcOffsetCounts { get; set; }

    /// <summary>Per-channel overrides of <see cref="SensorGain"/> and <see cref="AdcOffsetCounts"/>, by channel index.</summary>
    public IList<ChannelOptions> Channels { get; set; } = new List<ChannelOptions>();

    /// <summary>Butterworth band-pass.</summary>
    public BandPassOptions BandPass { get; set; } = new();

    /// <summary>Mains notch at the mains frequency and its harmonics.</summary>
    public MainsNotchOptions MainsNotch { get; set; } = new();

    /// <summary>Sliding RMS envelope.</summary>
    public RmsEnvelopeOptions RmsEnvelope { get; set; } = new();

    /// <summary>Optional linear envelope (full-wave rectification + Butterworth low-pass).</summary>
    public LinearEnvelopeOptions LinearEnvelope { get; set; } = new();

    /// <summary>
    /// Rate of the envelope outputs (Hz). Default 50 Hz. When it does not divide the sample rate the chain
    /// outputs every round(rate / OutputRateHz)-th sample instant and reports the rate it really uses in
    /// <see cref="SignalChain.Warnings"/>.
    /// </summary>
    public double OutputRateHz { get; set; } = 50;

    /// <summary>Thresholds of the signal-quality flags.</summary>
    public SignalQualityOptions Quality { get; set; } = new();

    /// <summary>Checks the settings that do not depend on the board; an empty list means valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        ValidateCore(errors);
        return errors;
    }

    /// <summary>
    /// Checks every setting, including those that depend on the board (sample rate, channel count, ADC);
    /// an empty list means the chain can be built.
    /// </summary>
    public IReadOnlyList<string> Validate(double sampleRateHz, int channelCount, int adcBits, double referenceMillivolts)
    {
        var errors = new List<string>();
        ValidateCore(errors);
        string p = SectionName;
        if (!(sampleRateHz > 0) || double.IsInfinity(sampleRateHz))
        {
            errors.Add($"{p}: the board's sample rate must be positive (was {Num(sampleRateHz)} Hz).");
            return errors;
        }
        if (channelCount < 1)
        {
            errors.Add($"{p}: the board's channel count must be at least 1 (was {channelCount}).");
        }
        if (adcBits is < 1 or > 16)
        {
            errors.Add($"{p}: the board's ADC resolution must be 1 to 16 bits (was {adcBits}).");
        }
        if (!(referenceMillivolts > 0) || double.IsInfinity(referenceMillivolts))
        {
            errors.Add($"{p}: the board's reference voltage must be positive (was {Num(referenceMillivolts)} mV).");
        }
        if (Channels is not null && Channels.Count > Math.Max(channelCount, 0))
        {
            errors.Add($"{p}:Channels has {Channels.Count} entries but the board has {channelCount} channels.");
        }
        if (adcBits is >= 1 and <= 16)
        {
            double fullScale = (1 << adcBits) - 1;
            if (AdcOffsetCounts is { } off && (off < 0 || off > fullScale))
            {
                errors.Add($"{p}:AdcOffsetCounts must lie within the ADC range 0-{Num(fullScale)} (was {Num(off)}).");
            }
            for (int i = 0; Channels is not null && i < Channels.Count; i++)
            {
                if (Channels[i]?.AdcOffsetCounts is { } o && (o < 0 || o > fullScale))
                {
                    errors.Add($"{p}:Channels:{i}:AdcOffsetCounts must lie within the ADC range 0-{Num(fullScale)} (was {Num(o)}).");
                }
            }
        }
        ValidateRate(errors, sampleRateHz);
        return errors;
    }

    /// <summary>
    /// Checks every setting for a source that gives its own scale per channel (a recording): the rate-dependent
    /// settings, and each scale (finite, non-zero µV per count, a count range); the gains and offsets configured for
    /// the station's board do not apply. An empty list means the chain can be built.
    /// </summary>
    public IReadOnlyList<string> Validate(double sampleRateHz, IReadOnlyList<ChannelScale> scales)
    {
        var errors = new List<string>();
        ValidateCore(errors);
        string p = SectionName;
        if (!(sampleRateHz > 0) || double.IsInfinity(sampleRateHz))
        {
            errors.Add($"{p}: the source's sample rate must be positive (was {Num(sampleRateHz)} Hz).");
            return errors;
        }
        if (scales is null || scales.Count < 1)
        {
            errors.Add($"{p}: the source must have at least one channel.");
        }
        for (int i = 0; scales is not null && i < scales.Count; i++)
        {
            ChannelScale c = scales[i];
            if (!double.IsFinite(c.MicrovoltsPerCount) || c.MicrovoltsPerCount == 0 || !double.IsFinite(c.ZeroCount))
            {
                errors.Add($"{p}: channel {i + 1}'s scale must be finite and non-zero (was {Num(c.MicrovoltsPerCount)} µV per count, 0 V at count {Num(c.ZeroCount)}).");
            }
            if (c.MaxCount <= c.MinCount)
            {
                errors.Add($"{p}: channel {i + 1}'s count range {c.MinCount}..{c.MaxCount} is empty.");
            }
        }
        ValidateRate(errors, sampleRateHz);
        return errors;
    }

    private void ValidateRate(List<string> errors, double sampleRateHz)
    {
        string p = SectionName;
        double nyquist = sampleRateHz / 2;
        double highClamped = Math.Min(BandPass.HighHz, SignalChainDesign.MaxCornerFraction * sampleRateHz);
        if (BandPass.LowHz >= highClamped)
        {
            errors.Add($"{p}:BandPass:LowHz ({Num(BandPass.LowHz)} Hz) must be below the upper corner, which at {Num(sampleRateHz)} Hz is at most {Num(highClamped)} Hz.");
        }
        if (MainsNotch.FrequencyHz >= nyquist)
        {
            errors.Add($"{p}:MainsNotch:FrequencyHz ({Num(MainsNotch.FrequencyHz)} Hz) must be below the Nyquist frequency ({Num(nyquist)} Hz).");
        }
        if (LinearEnvelope.Enabled && LinearEnvelope.CutoffHz >= SignalChainDesign.MaxCornerFraction * sampleRateHz)
        {
            errors.Add($"{p}:LinearEnvelope:CutoffHz ({Num(LinearEnvelope.CutoffHz)} Hz) must be below {Num(SignalChainDesign.MaxCornerFraction * sampleRateHz)} Hz at {Num(sampleRateHz)} Hz.");
        }
        if (OutputRateHz > sampleRateHz)
        {
            errors.Add($"{p}:OutputRateHz ({Num(OutputRateHz)} Hz) must not exceed the sample rate ({Num(sampleRateHz)} Hz).");
        }
        double windowSamples = Math.Round(RmsEnvelope.WindowMs * sampleRateHz / 1000.0);
        if (windowSamples < 1 && RmsEnvelope.WindowMs > 0)
        {
            errors.Add($"{p}:RmsEnvelope:WindowMs ({Num(RmsEnvelope.WindowMs)} ms) is shorter than one sample at {Num(sampleRateHz)} Hz.");
        }
    }

    private void ValidateCore(List<string> errors)
    {
        string p = SectionName;
        if (!IsPositive(SensorGain))
        {
            errors.Add($"{p}:SensorGain must be a positive number (V/V; 200 for a MyoWare 2.0 RAW output), was {Num(SensorGain)}.");
        }
        if (AdcOffsetCounts is { } offset && !double.IsFinite(offset))
        {
            errors.Add($"{p}:AdcOffsetCounts must be a finite number of ADC counts, was {Num(offset)}.");
        }
        if (Channels is null)
        {
            errors.Add($"{p}:Channels must not be null (leave it empty for no overrides).");
        }
        else
        {
            for (int i = 0; i < Channels.Count; i++)
            {
                ChannelOptions? ch = Channels[i];
                if (ch is null)
                {
                    continue;
                }
                if (ch.SensorGain is { } g && !IsPositive(g))
                {
                    errors.Add($"{p}:Channels:{i}:SensorGain must be a positive number (V/V), was {Num(g)}.");
                }
                if (ch.AdcOffsetCounts is { } o && !double.IsFinite(o))
                {
                    errors.Add($"{p}:Channels:{i}:AdcOffsetCounts must be a finite number of ADC counts, was {Num(o)}.");
                }
            }
        }

        if (BandPass is null)
        {
            errors.Add($"{p}:BandPass must not be null.");
        }
        else
        {
            if (!(BandPass.LowHz >= BandPassOptions.MinLowHz && BandPass.LowHz <= BandPassOptions.MaxLowHz))
            {
                errors.Add($"{p}:BandPass:LowHz must be between {Num(BandPassOptions.MinLowHz)} and {Num(BandPassOptions.MaxLowHz)} Hz (SENIAM: 10-20 Hz), was {Num(BandPass.LowHz)}.");
            }
            if (!IsPositive(BandPass.HighHz) || !(BandPass.HighHz > BandPass.LowHz))
            {
                errors.Add($"{p}:BandPass:HighHz must be above BandPass:LowHz, was {Num(BandPass.HighHz)} Hz.");
            }
            if (BandPass.Order is < 1 or > BandPassOptions.MaxOrder)
            {
                errors.Add($"{p}:BandPass:Order must be 1 to {BandPassOptions.MaxOrder} (default 4), was {BandPass.Order}.");
            }
        }

        if (MainsNotch is null)
        {
            errors.Add($"{p}:MainsNotch must not be null.");
        }
        else
        {
            if (MainsNotch.FrequencyHz is not (50 or 60))
            {
                errors.Add($"{p}:MainsNotch:FrequencyHz must be 50 or 60 Hz, was {Num(MainsNotch.FrequencyHz)}.");
            }
            if (!(MainsNotch.QualityFactor >= MainsNotchOptions.MinQualityFactor && MainsNotch.QualityFactor <= MainsNotchOptions.MaxQualityFactor))
            {
                errors.Add($"{p}:MainsNotch:QualityFactor must be between {Num(MainsNotchOptions.MinQualityFactor)} and {Num(MainsNotchOptions.MaxQualityFactor)}, was {Num(MainsNotch.QualityFactor)}.");
            }
            if (!Enum.IsDefined(MainsNotch.Design))
            {
                errors.Add($"{p}:MainsNotch:Design must be Comb or PerHarmonic, was {(int)MainsNotch.Design}.");
            }
            if (MainsNotch.Harmonics is { } h && h < 1)
            {
                errors.Add($"{p}:MainsNotch:Harmonics must be at least 1 (the fundamental) or empty for every harmonic below Nyquist, was {h}.");
            }
        }

        if (RmsEnvelope is null)
        {
            errors.Add($"{p}:RmsEnvelope must not be null.");
        }
        else if (!(RmsEnvelope.WindowMs >= RmsEnvelopeOptions.MinWindowMs && RmsEnvelope.WindowMs <= RmsEnvelopeOptions.MaxWindowMs))
        {
            errors.Add($"{p}:RmsEnvelope:WindowMs must be between {Num(RmsEnvelopeOptions.MinWindowMs)} and {Num(RmsEnvelopeOptions.MaxWindowMs)} ms, was {Num(RmsEnvelope.WindowMs)}.");
        }

        if (LinearEnvelope is null)
        {
            errors.Add($"{p}:LinearEnvelope must not be null.");
        }
        else
        {
            if (!(LinearEnvelope.CutoffHz >= LinearEnvelopeOptions.MinCutoffHz && LinearEnvelope.CutoffHz <= LinearEnvelopeOptions.MaxCutoffHz))
            {
                errors.Add($"{p}:LinearEnvelope:CutoffHz must be between {Num(LinearEnvelopeOptions.MinCutoffHz)} and {Num(LinearEnvelopeOptions.MaxCutoffHz)} Hz, was {Num(LinearEnvelope.CutoffHz)}.");
            }
            if (LinearEnvelope.Order is < 1 or > LinearEnvelopeOptions.MaxOrder)
            {
                errors.Add($"{p}:LinearEnvelope:Order must be 1 to {LinearEnvelopeOptions.MaxOrder}, was {LinearEnvelope.Order}.");
            }
        }

        if (!IsPositive(OutputRateHz))
        {
            errors.Add($"{p}:OutputRateHz must be a positive number of Hz, was {Num(OutputRateHz)}.");
        }

        if (Quality is null)
        {
            errors.Add($"{p}:Quality must not be null.");
        }
        else
        {
            if (!(Quality.FlatlineMaxCounts >= 0) || !double.IsFinite(Quality.FlatlineMaxCounts))
            {
                errors.Add($"{p}:Quality:FlatlineMaxCounts must be zero or more ADC counts, was {Num(Quality.FlatlineMaxCounts)}.");
            }
            if (!(Quality.ClippingMarginCounts >= 0) || !double.IsFinite(Quality.ClippingMarginCounts))
            {
                errors.Add($"{p}:Quality:ClippingMarginCounts must be zero or more ADC counts, was {Num(Quality.ClippingMarginCounts)}.");
            }
            if (!(Quality.MainsRatioThreshold > 0 && Quality.MainsRatioThreshold <= 1))
            {
                errors.Add($"{p}:Quality:MainsRatioThreshold must be above 0 and at most 1, was {Num(Quality.MainsRatioThreshold)}.");
            }
            if (!IsPositive(Quality.NoisyBaselineMicrovolts))
            {
                errors.Add($"{p}:Quality:NoisyBaselineMicrovolts must be a positive number of microvolts, was {Num(Quality.NoisyBaselineMicrovolts)}.");
            }
            if (!(Quality.BaselineWindowSeconds >= 1 && Quality.BaselineWindowSeconds <= 600))
            {
                errors.Add($"{p}:Quality:BaselineWindowSeconds must be between 1 and 600 s, was {Num(Quality.BaselineWindowSeconds)}.");
            }
        }
    }

    private static bool IsPositive(double v) => v > 0 && double.IsFinite(v);

    private static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>Per-channel calibration overrides; null keeps the board-wide value.</summary>
public sealed class ChannelOptions
{
    /// <summary>Voltage gain from the electrodes to the ADC input (V/V) for this channel.</summary>
    public double? SensorGain { get; set; }

    /// <summary>ADC count that corresponds to 0 V at this channel's electrodes.</summary>
    public double? AdcOffsetCounts { get; set; }
}

/// <summary>Butterworth band-pass (SENIAM: high-pass 10-20 Hz, low-pass near 500 Hz).</summary>
public sealed class BandPassOptions
{
    internal const double MinLowHz = 1;
    internal const double MaxLowHz = 100;
    internal const int MaxOrder = 8;

    /// <summary>Lower corner (-3 dB), Hz. Default 20 Hz.</summary>
    public double LowHz { get; set; } = 20;

    /// <summary>Upper corner (-3 dB), Hz. Default 450 Hz; clamped to 0.45 x the sample rate with a warning.</summary>
    public double HighHz { get; set; } = 450;

    /// <summary>Order of the low-pass prototype, as SciPy's <c>butter(N, ..., 'bandpass')</c>: N second-order sections. Default 4.</summary>
    public int Order { get; set; } = 4;
}

/// <summary>Mains notch: SciPy's <c>iirnotch</c> design (-3 dB bandwidth = f / Q) at the mains frequency and its harmonics, all equally narrow.</summary>
public sealed class MainsNotchOptions
{
    internal const double MinQualityFactor = 5;
    internal const double MaxQualityFactor = 200;

    /// <summary>
    /// When false the envelope is computed from the band-passed signal without the notch; the notch still
    /// runs beside it so that <see cref="EnvelopeSample.MainsRatio"/> still measures mains contamination.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Mains frequency, 50 or 60 Hz. Default 50.</summary>
    public double FrequencyHz { get; set; } = 50;

    /// <summary>
    /// Quality factor of the fundamental's notch (centre frequency / -3 dB bandwidth). Default 30: 1.67 Hz wide at 50 Hz.
    /// Every harmonic's notch has the same bandwidth (its Q is k times this).
    /// </summary>
    public double QualityFactor { get; set; } = 30;

    /// <summary>How many notch frequencies (1 = the fundamental only); empty = every harmonic below Nyquist.</summary>
    public int? Harmonics { get; set; }

    /// <summary>
    /// <see cref="MainsNotchDesign.Comb"/> (default): one comb filter nulls every multiple of the mains frequency, when
    /// the sample rate is a whole multiple of it and <see cref="Harmonics"/> is empty; otherwise, or with
    /// <see cref="MainsNotchDesign.PerHarmonic"/>, one notch section per harmonic. See docs/signal-chain.md.
    /// </summary>
    public MainsNotchDesign Design { get; set; } = MainsNotchDesign.Comb;
}

/// <summary>How the mains notch is built (docs/signal-chain.md, "Mains notch").</summary>
public enum MainsNotchDesign
{
    /// <summary>
    /// SciPy's <c>iircomb(f, Q, ftype='notch')</c>: H(z) = b0 (1 - z^-N) / (1 - a z^-N), N = sample rate / mains frequency.
    /// Nulls at 0, f, 2f, ... up to Nyquist, each as narrow as the fundamental's. Used only when N is a whole number and
    /// <see cref="MainsNotchOptions.Harmonics"/> is empty; otherwise the chain uses <see cref="PerHarmonic"/>.
    /// </summary>
    Comb,

    /// <summary>SciPy's <c>iirnotch</c> at every harmonic below Nyquist (or <see cref="MainsNotchOptions.Harmonics"/> of them), Q_k = k Q.</summary>
    PerHarmonic,
}

/// <summary>Sliding RMS envelope (ISEK / SENIAM: 50-250 ms).</summary>
public sealed class RmsEnvelopeOptions
{
    internal const double MinWindowMs = 50;
    internal const double MaxWindowMs = 250;

    /// <summary>Window length in milliseconds, 50-250. Default 100 ms (lag W/2 = 50 ms).</summary>
    public double WindowMs { get; set; } = 100;
}

/// <summary>Linear envelope: full-wave rectification followed by a Butterworth low-pass.</summary>
public sealed class LinearEnvelopeOptions
{
    internal const double MinCutoffHz = 0.5;
    internal const double MaxCutoffHz = 50;
    internal const int MaxOrder = 8;

    /// <summary>Computes the linear envelope as well as the RMS. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Low-pass corner, Hz. Default 6 Hz.</summary>
    public double CutoffHz { get; set; } = 6;

    /// <summary>Low-pass order. Default 2.</summary>
    public int Order { get; set; } = 2;
}

/// <summary>Thresholds of the signal-quality flags (docs/signal-chain.md, "Signal quality").</summary>
public sealed class SignalQualityOptions
{
    /// <summary>
    /// <see cref="SignalQualityFlags.Flatline"/> when the raw counts vary by no more than this over the RMS window.
    /// Default 1 count: a live amplifier and ADC always show more than one count of noise.
    /// </summary>
    public double FlatlineMaxCounts { get; set; } = 1;

    /// <summary>
    /// <see cref="SignalQualityFlags.Clipping"/> when a count within the window is this close to a rail
    /// (0 or 2^bits - 1). Default 0: at the rail itself.
    /// </summary>
    public double ClippingMarginCounts { get; set; }

    /// <summary>
    /// <see cref="SignalQualityFlags.MainsContamination"/> when the mains ratio (<see cref="EnvelopeSample.MainsRatio"/>:
    /// share of the band power at the mains frequencies) exceeds this. Default 0.5: mains carries as much power as the EMG.
    /// </summary>
    public double MainsRatioThreshold { get; set; } = 0.5;

    /// <summary>
    /// <see cref="SignalQualityFlags.NoisyBaseline"/> when the baseline noise (quietest RMS over the baseline window)
    /// exceeds this many microvolts, once a fifth of the baseline window of valid RMS has been seen. Default 15 µV.
    /// </summary>
    public double NoisyBaselineMicrovolts { get; set; } = 15;

    /// <summary>Length of the window over which the baseline noise is the quietest RMS, seconds. Default 5 s.</summary>
    public double BaselineWindowSeconds { get; set; } = 5;
}
