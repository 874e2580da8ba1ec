using System.Globalization;
using System.Numerics;
using NWaves.Filters.Base;
using NWaves.Filters.Butterworth;
using NWaves.Filters.Fda;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Dsp;

/// <summary>
/// Everything the chain computes once, when the configuration and the board are known: filter
/// coefficients (designed with NWaves), unit conversion, decimation, window lengths, settling time.
/// The per-sample loop only multiplies and adds what is here.
/// </summary>
public sealed class SignalChainDesign
{
    /// <summary>Upper corners are clamped to this fraction of the sample rate (0.9 x Nyquist).</summary>
    public const double MaxCornerFraction = 0.45;

    /// <summary>A filter counts as settled when its slowest transient has decayed to this fraction (-60 dB).</summary>
    public const double SettlingTolerance = 1e-3;

    private readonly List<string> _warnings = [];

    /// <summary>Designs the chain for the station's own board: counts converted with its ADC and the configured sensor
    /// gains; throws <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public SignalChainDesign(SignalChainOptions options, double sampleRateHz, int channelCount, int adcBits, double referenceMillivolts)
        : this(options, sampleRateHz, channelCount, adcBits, referenceMillivolts, null)
    {
    }

    /// <summary>
    /// Designs the chain for counts whose meaning the source gives (a recording's own calibration): the configured
    /// sensor gains and ADC offsets do not apply. Throws <see cref="ArgumentException"/> listing every invalid setting.
    /// </summary>
    public SignalChainDesign(SignalChainOptions options, double sampleRateHz, IReadOnlyList<ChannelScale> scales)
        : this(options, sampleRateHz, scales?.Count ?? 0, 16, double.NaN, scales)
    {
    }

    private SignalChainDesign(SignalChainOptions options, double sampleRateHz, int channelCount, int adcBits, double referenceMillivolts, IReadOnlyList<ChannelScale>? scales)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> errors = scales is null
            ? options.Validate(sampleRateHz, channelCount, adcBits, referenceMillivolts)
            : options.Validate(sampleRateHz, scales);
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid signal chain settings: " + string.Join(" ", errors), nameof(options));
        }

        SampleRateHz = sampleRateHz;
        ChannelCount = channelCount;
        double nyquist = sampleRateHz / 2;

        if (scales is null)
        {
            // Counts -> microvolts at the electrodes: (count - offset) * Vref / 2^bits / gain, with Vref in mV -> x 1000.
            var own = new ChannelScale[channelCount];
            for (int ch = 0; ch < channelCount; ch++)
            {
                ChannelOptions? over = ch < options.Channels.Count ? options.Channels[ch] : null;
                own[ch] = ChannelScale.ForAdc(adcBits, referenceMillivolts, over?.SensorGain ?? options.SensorGain,
                    over?.AdcOffsetCounts ?? options.AdcOffsetCounts);
            }
            scales = own;
        }
        else
        {
            // A source's own scale: the ADC description is derived (the widest channel's range) and only informative.
            long span = scales.Max(c => (long)c.MaxCount - c.MinCount);
            adcBits = (int)Math.Clamp(Math.Ceiling(Math.Log2(span + 1.0)), 1, 32);
        }
        Scales = scales.ToArray();
        AdcBits = adcBits;
        ReferenceMillivolts = referenceMillivolts;
        AdcFullScaleCount = (int)Math.Min(int.MaxValue, (1L << Math.Min(adcBits, 31)) - 1);
        MicrovoltsPerCount = Scales.Select(c => c.MicrovoltsPerCount).ToArray();
        AdcOffsetCounts = Scales.Select(c => c.ZeroCount).ToArray();
        WideCounts = Scales.Any(c => !c.FitsUInt16);

        // Band-pass: NWaves designs the Butterworth zeros/poles (bilinear transform of the analog prototype) and
        // pairs them into sections (TfToSos: poles nearest the unit circle last, overall gain in the first section,
        // the same arrangement as SciPy's zpk2sos).
        BandPassLowHz = options.BandPass.LowHz;
        BandPassHighHz = options.BandPass.HighHz;
        if (BandPassHighHz > MaxCornerFraction * sampleRateHz)
        {
            BandPassHighHz = MaxCornerFraction * sampleRateHz;
            Warn($"Dsp:BandPass:HighHz {Num(options.BandPass.HighHz)} Hz is at or above 0.9 x Nyquist at {Num(sampleRateHz)} Hz; the upper corner is clamped to {Num(BandPassHighHz)} Hz.");
        }
        TransferFunction bandPass = DesignFilter.IirBpTf(BandPassLowHz / sampleRateHz, BandPassHighHz / sampleRateHz, PrototypeButterworth.Poles(options.BandPass.Order));
        BandPassSections = UnitGainAtBandCentre(ToSections(DesignFilter.TfToSos(bandPass)), BandPassLowHz, BandPassHighHz, sampleRateHz);

        // Mains notches: SciPy's iirnotch design (NWaves' DesignFilter.IirNotch computes the same coefficients in
        // double precision): -3 dB bandwidth = f / Q. One section per harmonic below Nyquist, each as narrow as the
        // fundamental's (Q_k = k Q): a constant Q would widen the k-th notch k times, and nine of them at 1 kHz would
        // take about a quarter of the power of a white signal out of the EMG band instead of about 5 %.
        double f0 = options.MainsNotch.FrequencyHz;
        int available = (int)Math.Ceiling(nyquist / f0) - 1;
        int harmonics = options.MainsNotch.Harmonics is { } h ? Math.Min(h, available) : available;
        if (options.MainsNotch.Harmonics is { } asked && asked > available)
        {
            Warn($"Dsp:MainsNotch:Harmonics asks for {asked} notches but only {available} multiples of {Num(f0)} Hz lie below Nyquist ({Num(nyquist)} Hz); using {available}.");
        }
        var notchFrequencies = new double[harmonics];
        for (int k = 0; k < harmonics; k++)
        {
            notchFrequencies[k] = f0 * (k + 1);
        }
        // The comb: SciPy's iircomb(f0, Q, ftype='notch', fs) when fs is a whole multiple of f0 (SciPy's own test,
        // 1e-14). One recursion at lag N = fs / f0 nulls 0, f0, 2 f0, ... up to Nyquist, every null as wide as the
        // fundamental's (-3 dB bandwidth f0 / Q), with all poles at radius a^(1/N): the same notches as the
        // per-harmonic sections, plus a null at DC (and at Nyquist when N is even), where the band-pass already
        // removes everything. H(z) = b0 (1 - z^-N) / (1 - a z^-N), beta = tan(N w_delta / 4), w_delta = 2 pi f0 / fs / Q,
        // a = (1 - beta) / (1 + beta), b0 = 1 / (1 + beta).
        int combDelay = (int)Math.Round(sampleRateHz / f0);
        if (options.MainsNotch.Design == MainsNotchDesign.Comb && options.MainsNotch.Harmonics is null
            && combDelay >= 2 && Math.Abs(f0 - (sampleRateHz / combDelay)) / sampleRateHz <= 1e-14)
        {
            double wDelta = 2 * Math.PI * f0 / sampleRateHz / options.MainsNotch.QualityFactor;
            double beta = Math.Tan(combDelay * wDelta / 4);
            NotchComb = new CombNotch(combDelay, 1 / (1 + beta), (1 - beta) / (1 + beta));
            NotchSections = [];
        }
        else
        {
            var notchSections = new BiquadSection[harmonics];
            for (int k = 0; k < harmonics; k++)
            {
                notchSections[k] = ToSection(DesignFilter.IirNotch(notchFrequencies[k] / sampleRateHz, options.MainsNotch.QualityFactor * (k + 1)));
            }
            NotchSections = notchSections;
        }
        NotchFrequenciesHz = notchFrequencies;
        NotchEnabled = options.MainsNotch.Enabled;

        LinearEnvelopeEnabled = options.LinearEnvelope.Enabled;
        LinearEnvelopeSections = LinearEnvelopeEnabled
            ? ToSections(DesignFilter.TfToSos(DesignFilter.IirLpTf(options.LinearEnvelope.CutoffHz / sampleRateHz, PrototypeButterworth.Poles(options.LinearEnvelope.Order))))
            : [];

        DecimationFactor = Math.Max(1, (int)Math.Round(sampleRateHz / options.OutputRateHz));
        OutputRateHz = sampleRateHz / DecimationFactor;
        if (Math.Abs(OutputRateHz - options.OutputRateHz) > 1e-9 * options.OutputRateHz)
        {
            Warn($"Dsp:OutputRateHz {Num(options.OutputRateHz)} Hz does not divide the sample rate {Num(sampleRateHz)} Hz; the chain outputs every {DecimationFactor}th sample instant, i.e. {Num(OutputRateHz)} Hz.");
        }

        RmsWindowSamples = Math.Max(1, (int)Math.Round(options.RmsEnvelope.WindowMs * sampleRateHz / 1000.0));
        double windowMs = RmsWindowSamples * 1000.0 / sampleRateHz;
        if (Math.Abs(windowMs - options.RmsEnvelope.WindowMs) > 1e-9 * options.RmsEnvelope.WindowMs)
        {
            Warn($"Dsp:RmsEnvelope:WindowMs {Num(options.RmsEnvelope.WindowMs)} ms is not a whole number of samples at {Num(sampleRateHz)} Hz; the window is {RmsWindowSamples} samples = {Num(windowMs)} ms.");
        }

        // Exact sliding sums: one partial sum per sub-block in a ring; a sub-block divides both the window and the
        // output period, so every output's window is a whole number of sub-blocks.
        SubBlockSamples = Gcd(RmsWindowSamples, DecimationFactor);

        SettlingSamples = SettleSamples(BandPassSections) + (NotchComb is { } comb ? SettleSamples(comb.PoleRadius) : SettleSamples(NotchSections))
            + (LinearEnvelopeEnabled ? SettleSamples(LinearEnvelopeSections) : 0);

        FlatlineMaxCounts = options.Quality.FlatlineMaxCounts;
        ClipLowCounts = Scales.Select(c => c.MinCount + options.Quality.ClippingMarginCounts).ToArray();
        ClipHighCounts = Scales.Select(c => c.MaxCount - options.Quality.ClippingMarginCounts).ToArray();
        MainsRatioThreshold = options.Quality.MainsRatioThreshold;
        NoisyBaselineMicrovolts = options.Quality.NoisyBaselineMicrovolts;
        BaselineWindowOutputs = Math.Max(1, (int)Math.Round(options.Quality.BaselineWindowSeconds * OutputRateHz));

        BandPassCascade = NormalizedCascade.ForBandPass(BandPassSections);
        NotchCascade = NormalizedCascade.From(NotchSections);
        NotchGain = NotchComb is { } c ? c.B0 : NotchCascade.Gain;
        LinearEnvelopeCascade = NormalizedCascade.From(LinearEnvelopeSections);
    }

    /// <summary>Sample rate of the board, Hz.</summary>
    public double SampleRateHz { get; }

    /// <summary>Channels per frame.</summary>
    public int ChannelCount { get; }

    /// <summary>ADC resolution, bits.</summary>
    public int AdcBits { get; }

    /// <summary>ADC reference voltage, mV; NaN when the source gave its own scale.</summary>
    public double ReferenceMillivolts { get; }

    /// <summary>Largest ADC count, 2^bits - 1.</summary>
    public int AdcFullScaleCount { get; }

    /// <summary>What each channel's counts mean (the board's ADC and sensor gain, or a recording's own calibration).</summary>
    public IReadOnlyList<ChannelScale> Scales { get; }

    /// <summary>Whether some channel's counts do not fit 16 bits unsigned: the chain then takes 32-bit counts only.</summary>
    public bool WideCounts { get; }

    /// <summary>Microvolts at the electrodes per ADC count, per channel.</summary>
    public IReadOnlyList<double> MicrovoltsPerCount { get; }

    /// <summary>ADC count of 0 V at the electrodes, per channel.</summary>
    public IReadOnlyList<double> AdcOffsetCounts { get; }

    /// <summary>Lower corner of the band-pass, Hz.</summary>
    public double BandPassLowHz { get; }

    /// <summary>Upper corner of the band-pass after clamping, Hz.</summary>
    public double BandPassHighHz { get; }

    /// <summary>Band-pass sections as NWaves designed them, in running order.</summary>
    public IReadOnlyList<BiquadSection> BandPassSections { get; }

    /// <summary>Centre frequencies of the notches, Hz.</summary>
    public IReadOnlyList<double> NotchFrequenciesHz { get; }

    /// <summary>Notch sections (SciPy iirnotch design), in running order; empty when <see cref="NotchComb"/> is used.</summary>
    public IReadOnlyList<BiquadSection> NotchSections { get; }

    /// <summary>The mains comb (SciPy iircomb design) when the chain uses it instead of <see cref="NotchSections"/>; otherwise null.</summary>
    public CombNotch? NotchComb { get; }

    /// <summary>Whether the envelopes are computed after the notches (otherwise the notches only measure mains).</summary>
    public bool NotchEnabled { get; }

    /// <summary>Whether the linear envelope is computed.</summary>
    public bool LinearEnvelopeEnabled { get; }

    /// <summary>Low-pass sections of the linear envelope; empty when disabled.</summary>
    public IReadOnlyList<BiquadSection> LinearEnvelopeSections { get; }

    /// <summary>One output every this many sample instants.</summary>
    public int DecimationFactor { get; }

    /// <summary>Output rate actually used, Hz.</summary>
    public double OutputRateHz { get; }

    /// <summary>RMS window, samples.</summary>
    public int RmsWindowSamples { get; }

    /// <summary>Sample instants after a start or gap before the filters count as settled (the output is valid after this plus one RMS window).</summary>
    public int SettlingSamples { get; }

    /// <summary>What the chain changed in the settings to make them work at this rate; the host should log these.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    internal int SubBlockSamples { get; }

    internal double FlatlineMaxCounts { get; }

    /// <summary>Per channel: a count at or below this is on the lower rail.</summary>
    internal double[] ClipLowCounts { get; }

    /// <summary>Per channel: a count at or above this is on the upper rail.</summary>
    internal double[] ClipHighCounts { get; }

    internal double MainsRatioThreshold { get; }

    internal double NoisyBaselineMicrovolts { get; }

    internal int BaselineWindowOutputs { get; }

    internal NormalizedCascade BandPassCascade { get; }

    internal NormalizedCascade NotchCascade { get; }

    /// <summary>The notch stage's overall gain: the comb's b0 or the product of the sections' b0.</summary>
    internal double NotchGain { get; }

    /// <summary>Complex response of the mains notch stage (comb or sections) at a frequency (Hz).</summary>
    public Complex NotchResponse(double frequencyHz) =>
        NotchComb is { } comb ? comb.Response(2 * Math.PI * frequencyHz / SampleRateHz) : Response(NotchSections, frequencyHz, SampleRateHz);

    /// <summary>Group delay of the mains notch stage (comb or sections) at a frequency (Hz), in samples.</summary>
    public double NotchGroupDelaySamples(double frequencyHz) =>
        NotchComb is { } comb ? comb.GroupDelaySamples(2 * Math.PI * frequencyHz / SampleRateHz) : GroupDelaySamples(NotchSections, frequencyHz, SampleRateHz);

    internal NormalizedCascade LinearEnvelopeCascade { get; }

    /// <summary>Complex response of a cascade of sections at a frequency (Hz) for a sample rate (Hz).</summary>
    public static Complex Response(IReadOnlyList<BiquadSection> sections, double frequencyHz, double sampleRateHz)
    {
        ArgumentNullException.ThrowIfNull(sections);
        double w = 2 * Math.PI * frequencyHz / sampleRateHz;
        Complex h = Complex.One;
        foreach (BiquadSection s in sections)
        {
            h *= s.Response(w);
        }
        return h;
    }

    /// <summary>Group delay of a cascade of sections at a frequency (Hz), in samples.</summary>
    public static double GroupDelaySamples(IReadOnlyList<BiquadSection> sections, double frequencyHz, double sampleRateHz)
    {
        ArgumentNullException.ThrowIfNull(sections);
        double w = 2 * Math.PI * frequencyHz / sampleRateHz;
        double delay = 0;
        foreach (BiquadSection s in sections)
        {
            delay += PolynomialDelay(s.B0, s.B1, s.B2, w) - PolynomialDelay(1, s.A1, s.A2, w);
        }
        return delay;
    }

    // Group delay of p0 + p1 z^-1 + p2 z^-2 on the unit circle: Re(sum k p_k e^-jwk / sum p_k e^-jwk).
    private static double PolynomialDelay(double p0, double p1, double p2, double w)
    {
        Complex e1 = Complex.FromPolarCoordinates(1, -w);
        Complex e2 = e1 * e1;
        Complex p = p0 + (p1 * e1) + (p2 * e2);
        Complex dp = (p1 * e1) + (2 * p2 * e2);
        return (dp / p).Real;
    }

    // NWaves scales its band-pass to unit gain at the arithmetic centre (f1 + f2) / 2, where a Butterworth band-pass
    // is not exactly 1 (2.5e-4 low at 20-450 Hz, 2 kHz). The Butterworth band-pass has unit gain where the analog
    // prototype's DC lands: the geometric centre of the pre-warped corners, as in SciPy's butter. Only the overall
    // gain changes (first section's numerator); NWaves' zeros and poles stay as designed.
    private static BiquadSection[] UnitGainAtBandCentre(BiquadSection[] sections, double lowHz, double highHz, double sampleRateHz)
    {
        double warpedCentre = Math.Sqrt(Math.Tan(Math.PI * lowHz / sampleRateHz) * Math.Tan(Math.PI * highHz / sampleRateHz));
        double centreHz = Math.Atan(warpedCentre) * sampleRateHz / Math.PI;
        double gain = Response(sections, centreHz, sampleRateHz).Magnitude;
        BiquadSection first = sections[0];
        sections[0] = first with { B0 = first.B0 / gain, B1 = first.B1 / gain, B2 = first.B2 / gain };
        return sections;
    }

    private static int SettleSamples(IReadOnlyList<BiquadSection> sections)
    {
        double r = 0;
        foreach (BiquadSection s in sections)
        {
            r = Math.Max(r, s.MaxPoleRadius);
        }
        return SettleSamples(r);
    }

    private static int SettleSamples(double r) => r <= 0 ? 2 : (int)Math.Ceiling(Math.Log(SettlingTolerance) / Math.Log(r)) + 2;

    private static BiquadSection[] ToSections(TransferFunction[] sos)
    {
        var sections = new BiquadSection[sos.Length];
        for (int i = 0; i < sos.Length; i++)
        {
            sections[i] = ToSection(sos[i]);
        }
        return sections;
    }

    private static BiquadSection ToSection(TransferFunction tf)
    {
        double[] b = tf.Numerator;
        double[] a = tf.Denominator;
        double a0 = a[0];
        return new BiquadSection(
            b[0] / a0,
            b.Length > 1 ? b[1] / a0 : 0,
            b.Length > 2 ? b[2] / a0 : 0,
            a.Length > 1 ? a[1] / a0 : 0,
            a.Length > 2 ? a[2] / a0 : 0);
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }

    private void Warn(string message) => _warnings.Add(message);

    private static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>
/// A cascade in the form the kernels run: every numerator scaled to a leading 1, their product kept as one
/// gain. In double precision this changes no result beyond rounding (floating point is scale-free) and saves a
/// multiplication per section; "symmetric" cascades (every numerator [1, c, 1], as notch sections are) save one
/// more, and a Butterworth band-pass runs its zeros re-paired as [1, 0, -1] (see <see cref="ForBandPass"/>), which
/// saves another.
/// </summary>
internal sealed class NormalizedCascade
{
    private NormalizedCascade(int count)
    {
        Count = count;
        C = new double[count];
        B2 = new double[count];
        NegA1 = new double[count];
        NegA2 = new double[count];
    }

    public int Count { get; }

    public double Gain { get; private set; } = 1;

    public NumeratorForm Form { get; private set; } = NumeratorForm.Symmetric;

    public double[] C { get; }

    public double[] B2 { get; }

    public double[] NegA1 { get; }

    public double[] NegA2 { get; }

    public static NormalizedCascade From(IReadOnlyList<BiquadSection> sections)
    {
        var cascade = new NormalizedCascade(sections.Count);
        for (int i = 0; i < sections.Count; i++)
        {
            BiquadSection s = sections[i];
            if (s.B0 == 0)
            {
                throw new InvalidOperationException("A section with b0 = 0 cannot be normalised; the designs used here never produce one.");
            }
            cascade.Gain *= s.B0;
            cascade.C[i] = s.B1 / s.B0;
            cascade.B2[i] = s.B2 / s.B0;
            cascade.NegA1[i] = -s.A1;
            cascade.NegA2[i] = -s.A2;
            if (cascade.B2[i] != 1.0)
            {
                cascade.Form = NumeratorForm.General;
            }
        }
        return cascade;
    }

    /// <summary>
    /// A band-pass whose zeros all sit at z = 1 and z = -1, as many at each (a Butterworth band-pass of order N: N of
    /// each), run with every section's numerator [1, 0, -1]: the product of the numerators, (1 - z^-1)^N (1 + z^-1)^N
    /// = (1 - z^-2)^N, and the poles and gain are unchanged, so the response is the same; each section then needs one
    /// multiply-add fewer per sample. SciPy's zpk2sos pairs the zeros as [1, -2, 1] and [1, 2, 1] instead (the design,
    /// <see cref="SignalChainDesign.BandPassSections"/>, keeps that pairing), which keeps a section with poles near
    /// z = 1 from resonating at low frequencies. So the re-pairing is taken only where it costs little accuracy: when
    /// its round-off gain (<see cref="RoundOffGain"/>) is at most <see cref="MaxRoundOffGainRatio"/> times the design's.
    /// At the defaults (1 kHz, 20-450 Hz, order 4) it is 0.93 times, and so at most orders up to 3; with a corner far
    /// below the rate and a high order it is thousands of times or more (1 Hz, order 8 at 1 kHz: the filtered signal
    /// off by 7e-4 of its RMS instead of 1e-12), and there the cascade runs as designed, as does any cascade that is not
    /// such a band-pass.
    /// </summary>
    public static NormalizedCascade ForBandPass(IReadOnlyList<BiquadSection> sections)
    {
        NormalizedCascade designed = From(sections);
        int atPlusOne = 0, atMinusOne = 0;
        for (int i = 0; i < designed.Count; i++)
        {
            (double c, double b2) = (designed.C[i], designed.B2[i]);
            if (b2 == 1.0 && c == -2.0)
            {
                atPlusOne += 2;
            }
            else if (b2 == 1.0 && c == 2.0)
            {
                atMinusOne += 2;
            }
            else if (b2 == -1.0 && c == 0.0)
            {
                atPlusOne++;
                atMinusOne++;
            }
            else
            {
                return designed;
            }
        }
        if (atPlusOne != atMinusOne || designed.Count == 0)
        {
            return designed;
        }
        NormalizedCascade repaired = From(sections);
        for (int i = 0; i < repaired.Count; i++)
        {
            repaired.C[i] = 0.0;
            repaired.B2[i] = -1.0;
        }
        repaired.Form = NumeratorForm.BandPass;
        return RoundOffGain(repaired) <= MaxRoundOffGainRatio * RoundOffGain(designed) ? repaired : designed;
    }

    /// <summary>How much more round-off than the designed arrangement the [1, 0, -1] one may add (4: twice the RMS error).</summary>
    public const double MaxRoundOffGainRatio = 4;

    /// <summary>
    /// Round-off noise gain of the cascade as the kernels run it: for each section, the energy of the response at the
    /// cascade's output to a unit error in that section's output (the error goes round the section's own recursion,
    /// then through every later section), summed. Rounding errors of equal size at every section give output noise
    /// of this many times their variance.
    /// </summary>
    public static double RoundOffGain(NormalizedCascade cascade)
    {
        const int Block = 1024;
        const int MaxSamples = 1 << 22;
        double total = 0;
        var state = new double[2 * cascade.Count];
        for (int k = 0; k < cascade.Count; k++)
        {
            Array.Clear(state);
            double energy = 0;
            for (int n = 0; n < MaxSamples; n += Block)
            {
                double block = 0;
                for (int i = 0; i < Block; i++)
                {
                    // Section k sees the error alone (numerator [1, 0, 0]); later sections run as designed.
                    double y = (n + i == 0 ? 1.0 : 0.0) + state[2 * k];
                    state[2 * k] = (cascade.NegA1[k] * y) + state[(2 * k) + 1];
                    state[(2 * k) + 1] = cascade.NegA2[k] * y;
                    for (int j = k + 1; j < cascade.Count; j++)
                    {
                        double x = y;
                        y = x + state[2 * j];
                        state[2 * j] = (cascade.C[j] * x) + (cascade.NegA1[j] * y) + state[(2 * j) + 1];
                        state[(2 * j) + 1] = (cascade.B2[j] * x) + (cascade.NegA2[j] * y);
                    }
                    block += y * y;
                }
                energy += block;
                if (block <= 1e-15 * energy)
                {
                    break;
                }
            }
            total += energy;
        }
        return total;
    }
}

/// <summary>The shape of every numerator in a <see cref="NormalizedCascade"/>, which decides the operations per section.</summary>
internal enum NumeratorForm
{
    /// <summary>[1, c, b2].</summary>
    General,

    /// <summary>[1, c, 1].</summary>
    Symmetric,

    /// <summary>[1, 0, -1]: a zero at z = 1 and one at z = -1.</summary>
    BandPass,
}
