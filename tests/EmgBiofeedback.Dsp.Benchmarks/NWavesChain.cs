using NWaves.Filters;
using NWaves.Filters.Base;
using NWaves.Filters.BiQuad;

namespace EmgBiofeedback.Dsp.Benchmarks;

/// <summary>
/// The baseline: the same chain built from NWaves' online filters, one <see cref="BiQuadFilter"/> per section per
/// channel, <c>Process(float)</c> per sample (NWaves' idiom), with the same coefficients, the same block-sum RMS and
/// decimation, from the same interleaved counts. The mains comb is NWaves' own delay-line comb pair:
/// <see cref="CombFeedforwardFilter"/>(N, b0, -b0) then <see cref="CombFeedbackFilter"/>(N, 1, -a). Allocation-free
/// after construction.
/// </summary>
internal sealed class NWavesChain
{
    private readonly IOnlineFilter[][] _filters;
    private readonly int _channels;
    private readonly float _scale;
    private readonly float _offset;
    private readonly int _decimation;
    private readonly int _window;
    private readonly double[] _blockSums;
    private readonly double[] _ring;
    private int _ringPosition;
    private int _phase;

    public NWavesChain(SignalChainDesign design)
    {
        _channels = design.ChannelCount;
        _scale = (float)design.MicrovoltsPerCount[0];
        _offset = (float)design.AdcOffsetCounts[0];
        _decimation = design.DecimationFactor;
        _window = design.RmsWindowSamples;
        int blocks = _window / _decimation;
        _ring = new double[blocks * _channels];
        _blockSums = new double[_channels];
        _filters = new IOnlineFilter[_channels][];
        for (int ch = 0; ch < _channels; ch++)
        {
            IEnumerable<IOnlineFilter> comb = design.NotchComb is { } c
                ? [new CombFeedforwardFilter(c.Delay, c.B0, -c.B0), new CombFeedbackFilter(c.Delay, 1, -c.A)]
                : [];
            _filters[ch] = design.BandPassSections.Concat(design.NotchSections)
                .Select(s => (IOnlineFilter)new BiQuadFilter(s.B0, s.B1, s.B2, 1, s.A1, s.A2))
                .Concat(comb)
                .ToArray();
        }
    }

    public int Process(ReadOnlySpan<ushort> counts, Span<float> rms)
    {
        int frames = counts.Length / _channels;
        int written = 0;
        int blocks = _ring.Length / _channels;
        for (int i = 0; i < frames; i++)
        {
            for (int ch = 0; ch < _channels; ch++)
            {
                float x = (counts[(i * _channels) + ch] - _offset) * _scale;
                IOnlineFilter[] chain = _filters[ch];
                for (int k = 0; k < chain.Length; k++)
                {
                    x = chain[k].Process(x);
                }
                _blockSums[ch] += x * x; // rectified power
            }
            if (++_phase == _decimation)
            {
                _phase = 0;
                for (int ch = 0; ch < _channels; ch++)
                {
                    _ring[(_ringPosition * _channels) + ch] = _blockSums[ch];
                    _blockSums[ch] = 0;
                    double sum = 0;
                    for (int b = 0; b < blocks; b++)
                    {
                        sum += _ring[(b * _channels) + ch];
                    }
                    rms[written++] = (float)Math.Sqrt(sum / _window);
                }
                _ringPosition = (_ringPosition + 1) % blocks;
            }
        }
        return written;
    }
}
