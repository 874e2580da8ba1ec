using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmgBiofeedback.Dsp.Kernels;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Dsp;

/// <summary>
/// The per-channel signal chain of one board: ADC counts in, envelopes and signal quality out at the output rate.
/// Counts -> µV at the electrodes -> Butterworth band-pass -> mains notches -> full-wave rectification ->
/// sliding RMS (and optionally a linear envelope) -> decimation. Pure and single-threaded: no I/O, no clock, no
/// logging; after construction it allocates nothing. See docs/signal-chain.md.
/// </summary>
public sealed class SignalChain
{
    private const int BaselineChunks = 5;
    private const int Lanes = 8;

    private readonly ChainKernel _kernel;
    private readonly int _channels;
    private readonly int _decimation;
    private readonly int _subBlock;
    private readonly double[] _baselineChunkMin;   // quietest valid RMS of each completed chunk: [chunk * channels + channel]
    private readonly double[] _baselineCurrentMin; // of the chunk in progress
    private readonly double[] _baselinePastFloor;  // quietest over the completed chunks
    private readonly int _baselineChunkLength;
    private readonly long _validAfter;
    private readonly double _rmsGain;
    private readonly double _notchGainSquared;
    private readonly double _linearGain;
    private readonly double[] _emitScratch = new double[4 * Lanes]; // one vector each of RMS, ratio, linear, baseline
    private readonly long[] _flagScratch = new long[Lanes];
    private readonly double[] _clipLow;  // per channel, padded to the kernel's stride
    private readonly double[] _clipHigh;
    private readonly ushort[] _narrowScratch;
    private int _baselineChunkFill;
    private bool _baselineSettled; // a whole chunk of valid RMS seen: the floor is no longer just the first few values
    private int _baselineChunkPosition;
    private long _nextIndex;
    private long _sinceReset;

    /// <summary>Builds the chain for one board; throws <see cref="ArgumentException"/> naming every invalid setting.</summary>
    /// <param name="options">Settings (configuration section <c>Dsp</c>).</param>
    /// <param name="sampleRateHz">Sample rate per channel, Hz.</param>
    /// <param name="channelCount">Counts per frame.</param>
    /// <param name="adcBits">ADC resolution (10 on an Uno, 12 for the BioSPPy recordings).</param>
    /// <param name="referenceMillivolts">ADC reference voltage, mV.</param>
    public SignalChain(SignalChainOptions options, double sampleRateHz, int channelCount, int adcBits, double referenceMillivolts)
        : this(new SignalChainDesign(options, sampleRateHz, channelCount, adcBits, referenceMillivolts), ChainKernelKind.Auto)
    {
    }

    /// <summary>
    /// Builds the chain for a source that gives each channel's scale (a recording's own calibration); throws
    /// <see cref="ArgumentException"/> naming every invalid setting. When a channel's counts do not fit 16 bits
    /// (<see cref="SignalChainDesign.WideCounts"/>) the chain takes 32-bit counts only.
    /// </summary>
    public SignalChain(SignalChainOptions options, double sampleRateHz, IReadOnlyList<ChannelScale> scales)
        : this(new SignalChainDesign(options, sampleRateHz, scales), ChainKernelKind.Auto)
    {
    }

    internal SignalChain(SignalChainDesign design, ChainKernelKind kernel)
    {
        Design = design;
        _kernel = ChainKernel.Create(design, kernel);
        KernelKind = _kernel is VectorChainKernel ? ChainKernelKind.Vector : ChainKernelKind.Scalar;
        _channels = design.ChannelCount;
        _decimation = design.DecimationFactor;
        _subBlock = design.SubBlockSamples;
        _baselineChunkLength = Math.Max(1, (design.BaselineWindowOutputs + BaselineChunks - 1) / BaselineChunks);
        _baselineChunkMin = new double[BaselineChunks * _kernel.Stride];
        _baselineCurrentMin = new double[_kernel.Stride];
        _baselinePastFloor = new double[_kernel.Stride];
        _validAfter = (long)design.SettlingSamples + design.RmsWindowSamples;
        _notchGainSquared = design.NotchGain * design.NotchGain;
        _rmsGain = design.NotchEnabled ? Math.Abs(design.NotchGain) : 1.0;
        _linearGain = design.LinearEnvelopeCascade.Gain * (design.NotchEnabled ? design.NotchGain : 1.0);
        _clipLow = new double[_kernel.Stride];
        _clipHigh = new double[_kernel.Stride];
        Array.Fill(_clipLow, double.NegativeInfinity);
        Array.Fill(_clipHigh, double.PositiveInfinity);
        design.ClipLowCounts.CopyTo(_clipLow, 0);
        design.ClipHighCounts.CopyTo(_clipHigh, 0);
        _narrowScratch = design.WideCounts || _kernel is ScalarChainKernel ? [] : new ushort[ChainKernel.MaxChunk * _channels];
        Reset();
    }

    /// <summary>The coefficients, rates and window lengths this chain runs with.</summary>
    public SignalChainDesign Design { get; }

    /// <summary>What the chain changed in the settings to make them work at this rate; the host should log these once.</summary>
    public IReadOnlyList<string> Warnings => Design.Warnings;

    /// <summary>Channels per frame.</summary>
    public int ChannelCount => _channels;

    /// <summary>Index the next frame passed to <see cref="Process(ReadOnlySpan{ushort}, Span{EnvelopeSample})"/> will have.</summary>
    public long NextSampleIndex => _nextIndex;

    internal ChainKernelKind KernelKind { get; }

    /// <summary>How many <see cref="EnvelopeSample"/>s the next call with <paramref name="frameCount"/> frames writes (a multiple of the channel count).</summary>
    public int OutputCountFor(int frameCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frameCount);
        long instants = ((_nextIndex + frameCount) / _decimation) - (_nextIndex / _decimation);
        return checked((int)(instants * _channels));
    }

    /// <summary>
    /// Runs a block of whole frames (interleaved sample-instant-major: one count per channel, channel order) and
    /// writes one <see cref="EnvelopeSample"/> per channel for each output instant the block reaches. Returns how
    /// many were written. <paramref name="output"/> needs <see cref="OutputCountFor"/> entries.
    /// </summary>
    public int Process(ReadOnlySpan<ushort> interleavedCounts, Span<EnvelopeSample> output) =>
        Process(interleavedCounts, output, []);

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{ushort}, Span{EnvelopeSample})"/>, and also writes the band-passed (and
    /// notched, when enabled) signal in µV into <paramref name="filteredMicrovolts"/>, interleaved like the input
    /// (for a raw-trace display); pass an empty span to skip it.
    /// </summary>
    public int Process(ReadOnlySpan<ushort> interleavedCounts, Span<EnvelopeSample> output, Span<double> filteredMicrovolts)
    {
        if (Design.WideCounts)
        {
            throw new InvalidOperationException("This chain's counts do not fit 16 bits: pass them as 32-bit counts.");
        }
        return ProcessCounts(interleavedCounts, output, filteredMicrovolts);
    }

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{ushort}, Span{EnvelopeSample}, Span{double})"/>, for 32-bit counts (a
    /// recording's digital values whose range does not fit 16 bits, or any). A chain whose counts fit 16 bits takes
    /// them too and gives the same results as for the same counts in 16 bits.
    /// </summary>
    public int Process(ReadOnlySpan<int> interleavedCounts, Span<EnvelopeSample> output, Span<double> filteredMicrovolts = default) =>
        ProcessCounts(interleavedCounts, output, filteredMicrovolts);

    private int ProcessCounts<TCount>(ReadOnlySpan<TCount> interleavedCounts, Span<EnvelopeSample> output, Span<double> filteredMicrovolts)
        where TCount : unmanaged
    {
        if (interleavedCounts.Length % _channels != 0)
        {
            throw new ArgumentException($"The block holds {interleavedCounts.Length} counts, not a whole number of {_channels}-channel frames.", nameof(interleavedCounts));
        }
        int frames = interleavedCounts.Length / _channels;
        int needed = OutputCountFor(frames);
        if (output.Length < needed)
        {
            throw new ArgumentException($"The output span holds {output.Length} samples; this block produces {needed}.", nameof(output));
        }
        if (!filteredMicrovolts.IsEmpty && filteredMicrovolts.Length < interleavedCounts.Length)
        {
            throw new ArgumentException($"The filtered span holds {filteredMicrovolts.Length} values; this block needs {interleavedCounts.Length}.", nameof(filteredMicrovolts));
        }

        int written = 0;
        int done = 0;
        while (done < frames)
        {
            int n = Math.Min(frames - done, ChainKernel.MaxChunk);
            int toBoundary = _subBlock - (int)(_nextIndex % _subBlock);
            // Completed sub-block k of this chunk ends before instant nextIndex + toBoundary + k * subBlock; the first
            // whose end is a multiple of the decimation factor ends an output period.
            int firstOutput = (int)((_decimation - ((_nextIndex + toBoundary) % _decimation)) % _decimation) / _subBlock;
            Span<double> filtered = filteredMicrovolts.IsEmpty ? [] : filteredMicrovolts.Slice(done * _channels, n * _channels);
            int outputs = KernelProcess(interleavedCounts.Slice(done * _channels, n * _channels), n, toBoundary, firstOutput, filtered);
            long chunkStart = _nextIndex;
            for (int o = 0; o < outputs; o++)
            {
                long end = chunkStart + toBoundary + ((long)(firstOutput + (o * (_decimation / _subBlock))) * _subBlock);
                Emit(o, end - 1, _sinceReset + (end - chunkStart), output.Slice(written, _channels));
                written += _channels;
            }
            _nextIndex += n;
            _sinceReset += n;
            done += n;
        }
        return written;
    }

    private int KernelProcess<TCount>(ReadOnlySpan<TCount> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered)
        where TCount : unmanaged
    {
        if (typeof(TCount) == typeof(ushort))
        {
            return _kernel.Process(MemoryMarshal.Cast<TCount, ushort>(counts), frames, toBoundary, firstOutput, filtered);
        }
        ReadOnlySpan<int> wide = MemoryMarshal.Cast<TCount, int>(counts);
        if (_kernel is ScalarChainKernel)
        {
            return _kernel.Process(wide, frames, toBoundary, firstOutput, filtered);
        }
        // A 16-bit chain on the vector kernel: the counts fit 16 bits (or are clamped to the rails, as an ADC would).
        Span<ushort> narrow = _narrowScratch.AsSpan(0, wide.Length);
        for (int i = 0; i < wide.Length; i++)
        {
            narrow[i] = (ushort)Math.Clamp(wide[i], 0, ushort.MaxValue);
        }
        return _kernel.Process(narrow, frames, toBoundary, firstOutput, filtered);
    }

    /// <summary>
    /// Tells the chain that <paramref name="lostInstants"/> sample instants were lost before the next frame. The
    /// filters restart from rest rather than filter across the hole, and the envelope is marked invalid until the
    /// filters and the RMS window have settled again. Sample indices keep counting the lost instants.
    /// </summary>
    public void MarkGap(long lostInstants)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lostInstants);
        _nextIndex += lostInstants;
        RestartFilters();
    }

    /// <summary>Back to the state after construction: sample index 0, filters at rest, no baseline history.</summary>
    public void Reset()
    {
        _nextIndex = 0;
        RestartFilters();
        Array.Fill(_baselineChunkMin, double.PositiveInfinity);
        Array.Fill(_baselineCurrentMin, double.PositiveInfinity);
        Array.Fill(_baselinePastFloor, double.PositiveInfinity);
        _baselineChunkFill = 0;
        _baselineChunkPosition = 0;
        _baselineSettled = false;
    }

    private void RestartFilters()
    {
        _kernel.Reset();
        _sinceReset = 0;
    }

    // Window sums -> envelope samples, eight channels at a time (the per-output work would otherwise rival the filters').
    private void Emit(int window, long sampleIndex, long sinceReset, Span<EnvelopeSample> output)
    {
        SignalChainDesign d = Design;
        bool valid = sinceReset >= _validAfter;
        int stride = _kernel.Stride;
        ref double sums = ref MemoryMarshal.GetReference(_kernel.WindowBlock(window));
        Vector512<double> length = Vector512.Create((double)d.RmsWindowSamples);
        Vector512<double> rmsGain = Vector512.Create(_rmsGain);
        Vector512<double> notchGainSquared = Vector512.Create(_notchGainSquared);
        Vector512<double> linearGain = Vector512.Create(_linearGain);
        Vector512<double> infinity = Vector512.Create(double.PositiveInfinity);
        Vector512<double> nan = Vector512.Create(double.NaN);
        ref double rmsOut = ref _emitScratch[0];
        ref double ratioOut = ref _emitScratch[Lanes];
        ref double linearOut = ref _emitScratch[2 * Lanes];
        ref double baselineOut = ref _emitScratch[3 * Lanes];
        ref EnvelopeSample to = ref MemoryMarshal.GetReference(output);
        for (int at = 0; at < stride; at += Lanes)
        {
            Vector512<double> squares = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Squares * stride) + at));
            Vector512<double> band = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Band * stride) + at));
            Vector512<double> removed = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Removed * stride) + at));
            Vector512<double> min = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Min * stride) + at));
            Vector512<double> max = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Max * stride) + at));
            Vector512<double> linear = Vector512.LoadUnsafe(ref sums, (nuint)((ChainKernel.Linear * stride) + at));

            Vector512<double> rms = d.NotchEnabled ? rmsGain * Vector512.Sqrt(squares / length) : Vector512.Sqrt(band / length);
            // Mains power over mains + the rest: bounded to [0, 1] (removed / band can exceed 1 by a little, since over a
            // finite window the removed and the remaining parts are not exactly orthogonal).
            Vector512<double> total = removed + (notchGainSquared * squares);
            Vector512<double> ratio = Vector512.ConditionalSelect(Vector512.GreaterThan(total, Vector512<double>.Zero), removed / total, Vector512<double>.Zero);
            linear = d.LinearEnvelopeEnabled ? linearGain * linear : nan;

            // Noise floor: the quietest valid RMS over the last BaselineWindowSeconds, kept as the minima of five chunks
            // (the window slides a chunk at a time). NaN until a valid RMS exists.
            ref double currentMin = ref _baselineCurrentMin[at];
            Vector512<double> current = Vector512.LoadUnsafe(ref currentMin);
            if (valid)
            {
                current = Vector512.Min(current, rms);
                current.StoreUnsafe(ref currentMin);
            }
            Vector512<double> floor = Vector512.Min(Vector512.LoadUnsafe(ref _baselinePastFloor[at]), current);
            Vector512<double> baseline = Vector512.ConditionalSelect(Vector512.Equals(floor, infinity), nan, floor);

            // The flags as bits of one vector, without a branch per channel: each comparison is all ones or all zeros
            // per lane.
            Vector512<long> seen = Vector512.GreaterThanOrEqual(max, min).AsInt64();
            Vector512<long> flags = seen & Vector512.LessThanOrEqual(max - min, Vector512.Create(d.FlatlineMaxCounts)).AsInt64()
                & Vector512.Create((long)SignalQualityFlags.Flatline);
            flags |= seen & (Vector512.LessThanOrEqual(min, Vector512.LoadUnsafe(ref _clipLow[at])) | Vector512.GreaterThanOrEqual(max, Vector512.LoadUnsafe(ref _clipHigh[at]))).AsInt64()
                & Vector512.Create((long)SignalQualityFlags.Clipping);
            if (valid)
            {
                flags |= Vector512.GreaterThan(ratio, Vector512.Create(d.MainsRatioThreshold)).AsInt64() & Vector512.Create((long)SignalQualityFlags.MainsContamination);
            }
            if (_baselineSettled)
            {
                flags |= Vector512.GreaterThan(baseline, Vector512.Create(d.NoisyBaselineMicrovolts)).AsInt64() & Vector512.Create((long)SignalQualityFlags.NoisyBaseline);
            }

            rms.StoreUnsafe(ref rmsOut);
            ratio.StoreUnsafe(ref ratioOut);
            linear.StoreUnsafe(ref linearOut);
            baseline.StoreUnsafe(ref baselineOut);
            flags.StoreUnsafe(ref _flagScratch[0]);
            int live = Math.Min(Lanes, _channels - at);
            for (int j = 0; j < live; j++)
            {
                Unsafe.Add(ref to, at + j) = new EnvelopeSample
                {
                    SampleIndex = sampleIndex,
                    Channel = (short)(at + j),
                    RmsMicrovolts = Unsafe.Add(ref rmsOut, j),
                    LinearEnvelopeMicrovolts = Unsafe.Add(ref linearOut, j),
                    MainsRatio = (float)Unsafe.Add(ref ratioOut, j),
                    BaselineNoiseMicrovolts = (float)Unsafe.Add(ref baselineOut, j),
                    Quality = (SignalQualityFlags)_flagScratch[j],
                    IsValid = valid,
                };
            }
        }
        if (valid && ++_baselineChunkFill == _baselineChunkLength)
        {
            CloseBaselineChunk();
        }
    }

    private void CloseBaselineChunk()
    {
        Array.Copy(_baselineCurrentMin, 0, _baselineChunkMin, _baselineChunkPosition * _channels, _channels);
        Array.Fill(_baselineCurrentMin, double.PositiveInfinity);
        _baselineChunkPosition = _baselineChunkPosition + 1 == BaselineChunks ? 0 : _baselineChunkPosition + 1;
        _baselineChunkFill = 0;
        _baselineSettled = true;
        for (int ch = 0; ch < _channels; ch++)
        {
            double floor = double.PositiveInfinity;
            for (int k = 0; k < BaselineChunks; k++)
            {
                floor = Math.Min(floor, _baselineChunkMin[(k * _channels) + ch]);
            }
            _baselinePastFloor[ch] = floor;
        }
    }
}
