using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using NWaves.Filters.BiQuad;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// Multichannel surface EMG as a MyoWare sensor on an Arduino delivers it: per muscle, band-limited noise
/// (the interference pattern of many motor units, energy mostly 50-150 Hz) scaled by an activation level
/// (tonic plus smooth-edged bursts), electrode noise, mains hum and occasional motion artefacts; amplified,
/// offset to mid-supply and quantised by the ADC, clipping at its rails like the real one.
/// Deterministic for a given seed; allocation-free per sample instant.
/// </summary>
internal sealed class SyntheticEmg
{
    // Edges of a burst rise and fall over this long (raised cosine), as a voluntary contraction does.
    private const double ArtefactSeconds = 0.4;

    private readonly SimulatorOptions _options;
    private readonly IReadOnlyList<MusclePattern> _muscles;
    private readonly Normal _gaussian;
    private readonly System.Random _uniform;
    private readonly BandPassFilter[] _shaping;
    private readonly double _shapingNormalisation;
    private readonly double[] _mainsPhase;
    private readonly double _countsPerMicrovolt;
    private readonly int _adcMax;
    private readonly int _sampleRate;
    private long _nextArtefact;
    private long _artefactStart = long.MinValue;
    private int _artefactChannel;
    private double _artefactMicrovolts;

    public SyntheticEmg(SimulatorOptions options, double sensorGain, int channels, int sampleRateHz, int adcBits, int referenceMillivolts)
    {
        _options = options;
        _sampleRate = sampleRateHz;
        _muscles = options.EffectiveMuscles(channels);
        _uniform = new Xoshiro256StarStar(options.Seed);
        _gaussian = new Normal(0, 1, _uniform);
        _adcMax = (1 << adcBits) - 1;
        _countsPerMicrovolt = 1e-6 * sensorGain / (referenceMillivolts / 1000.0) * (1 << adcBits);

        // Shaping filter: a broad band-pass centred near 90 Hz, where sEMG has most of its power. The
        // centre is clamped for low sample rates.
        double centre = Math.Min(90.0, 0.2 * sampleRateHz) / sampleRateHz;
        _shaping = new BandPassFilter[channels];
        for (int c = 0; c < channels; c++)
        {
            _shaping[c] = new BandPassFilter(centre, 0.6);
        }
        _shapingNormalisation = 1.0 / MeasureShapingGain(centre);
        _mainsPhase = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            _mainsPhase[c] = 0.3 * c; // lead geometry differs a little from channel to channel
        }
        _nextArtefact = NextArtefactAfter(0);
    }

    public IReadOnlyList<MusclePattern> Muscles => _muscles;

    /// <summary>ADC counts of every channel at sample instant <paramref name="instant"/>.</summary>
    public void Fill(long instant, Span<ushort> counts)
    {
        double t = (double)instant / _sampleRate;
        if (instant >= _nextArtefact)
        {
            _artefactStart = instant;
            _artefactChannel = _uniform.Next(counts.Length);
            _artefactMicrovolts = 400 + 1200 * _uniform.NextDouble();
            _nextArtefact = NextArtefactAfter(instant);
        }
        double mains = _options.MainsMicrovolts;
        for (int c = 0; c < counts.Length; c++)
        {
            MusclePattern muscle = _muscles[c];
            double activation = muscle.TonicMicrovolts + muscle.BurstMicrovolts * BurstShape(muscle, t);
            double emg = activation * _shapingNormalisation * _shaping[c].Process((float)_gaussian.Sample());
            double microvolts = emg
                + _options.BaselineNoiseMicrovolts * _gaussian.Sample()
                + mains * Math.Sin(2 * Math.PI * _options.MainsHz * t + _mainsPhase[c])
                + (c == _artefactChannel ? Artefact(instant) : 0);
            double count = Math.Round((_adcMax + 1) / 2.0 + microvolts * _countsPerMicrovolt);
            counts[c] = (ushort)Math.Clamp(count, 0, _adcMax);
        }
    }

    private static double BurstShape(MusclePattern muscle, double t)
    {
        if (muscle.BurstPeriodSeconds <= 0 || muscle.BurstSeconds <= 0)
        {
            return 0;
        }
        double into = (t - muscle.BurstPhaseSeconds) % muscle.BurstPeriodSeconds;
        if (into < 0)
        {
            into += muscle.BurstPeriodSeconds;
        }
        if (into >= muscle.BurstSeconds)
        {
            return 0;
        }
        double edge = Math.Min(muscle.BurstEdgeSeconds, muscle.BurstSeconds / 2);
        double fromEdge = Math.Min(into, muscle.BurstSeconds - into);
        return fromEdge >= edge ? 1 : 0.5 - 0.5 * Math.Cos(Math.PI * fromEdge / edge);
    }

    /// <summary>A lead tug: one slow swing of the baseline lasting 0.4 s, far below the EMG band.</summary>
    private double Artefact(long instant)
    {
        double age = (double)(instant - _artefactStart) / _sampleRate;
        return age is >= 0 and < ArtefactSeconds ? _artefactMicrovolts * Math.Sin(Math.PI * age / ArtefactSeconds) : 0;
    }

    private long NextArtefactAfter(long instant)
    {
        double mean = _options.MotionArtefactIntervalSeconds;
        if (mean <= 0)
        {
            return long.MaxValue;
        }
        double wait = Exponential.Sample(_uniform, 1.0 / mean);
        return instant + 1 + (long)(wait * _sampleRate);
    }

    /// <summary>RMS of the shaping filter's response to unit white noise, so activation is in µV RMS.</summary>
    private static double MeasureShapingGain(double centre)
    {
        var filter = new BandPassFilter(centre, 0.6);
        var noise = new Normal(0, 1, new Xoshiro256StarStar(1));
        double sum = 0;
        const int n = 200_000;
        for (int i = 0; i < n; i++)
        {
            double y = filter.Process((float)noise.Sample());
            sum += y * y;
        }
        return Math.Sqrt(sum / n);
    }
}
