namespace EmgBiofeedback.Dsp.Kernels;

/// <summary>
/// One channel, one sample, one section at a time, in transposed direct form II with the normalised
/// coefficients. Plain enough to check by eye; the vector kernel must reproduce it bit for bit.
/// </summary>
internal sealed class ScalarChainKernel : ChainKernel
{
    private readonly double[] _bpState;
    private readonly double[] _notchState;
    private readonly double[] _lpState;
    private readonly PartialSums[] _carry;     // the sub-block in progress, per channel
    private readonly PartialSums[] _ring;      // completed sub-blocks of the current window: [entry * channels + channel]
    private readonly double[] _combIn;         // the comb's last N inputs and outputs per channel: [channel * N + slot]
    private readonly double[] _combOut;
    private int _ringPosition;              // the oldest entry, where the next one goes
    private int _combSlot;                  // the comb's oldest slot, where the next sample goes

    public ScalarChainKernel(SignalChainDesign design)
        : base(design, ((design.ChannelCount + 7) / 8) * 8)
    {
        _bpState = new double[Channels * 2 * Bp.Count];
        _notchState = new double[Channels * 2 * Notch.Count];
        _lpState = new double[Channels * 2 * Lp.Count];
        _carry = new PartialSums[Channels];
        _ring = new PartialSums[RingLength * Channels];
        _combIn = new double[Channels * CombDelay];
        _combOut = new double[Channels * CombDelay];
        Reset();
    }

    public override int Process(ReadOnlySpan<ushort> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered) =>
        Run(counts, frames, toBoundary, firstOutput, filtered);

    public override int Process(ReadOnlySpan<int> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered) =>
        Run(counts, frames, toBoundary, firstOutput, filtered);

    // The same loop for 16- and 32-bit counts: each count becomes a double exactly, then the same operations follow.
    private int Run<TCount>(ReadOnlySpan<TCount> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered)
        where TCount : unmanaged, System.Numerics.INumberBase<TCount>
    {
        int channels = Channels;
        bool notchOn = Design.NotchEnabled;
        bool lpOn = Design.LinearEnvelopeEnabled;
        bool writeFiltered = !filtered.IsEmpty;
        double notchGain = NotchGain;
        int combDelay = CombDelay;
        double combA = CombA;
        int combSlot = _combSlot;
        int outputs = 0;
        int position = _ringPosition;
        for (int ch = 0; ch < channels; ch++)
        {
            Span<double> bp = _bpState.AsSpan(ch * 2 * Bp.Count, 2 * Bp.Count);
            Span<double> notch = _notchState.AsSpan(ch * 2 * Notch.Count, 2 * Notch.Count);
            Span<double> lp = _lpState.AsSpan(ch * 2 * Lp.Count, 2 * Lp.Count);
            double scale = Scale[ch];
            double bias = Bias[ch];
            PartialSums acc = _carry[ch];
            int next = toBoundary;
            int completed = 0;
            int nextOutput = firstOutput;
            position = _ringPosition;
            outputs = 0;
            Span<double> combIn = _combIn.AsSpan(ch * combDelay, combDelay);
            Span<double> combOut = _combOut.AsSpan(ch * combDelay, combDelay);
            combSlot = _combSlot;
            for (int i = 0; i < frames; i++)
            {
                double raw = double.CreateTruncating(counts[(i * channels) + ch]);
                acc.Min = Math.Min(acc.Min, raw);
                acc.Max = Math.Max(acc.Max, raw);
                double x = Math.FusedMultiplyAdd(raw, scale, bias);
                double xb = Run(x, Bp, bp);
                double yn;
                if (combDelay > 0)
                {
                    yn = Math.FusedMultiplyAdd(combA, combOut[combSlot], xb - combIn[combSlot]);
                    combIn[combSlot] = xb;
                    combOut[combSlot] = yn;
                    combSlot = combSlot + 1 == combDelay ? 0 : combSlot + 1;
                }
                else
                {
                    yn = Run(xb, Notch, notch);
                }
                if (lpOn)
                {
                    double e = Math.Abs(notchOn ? yn : xb);
                    acc.LinearEnvelope = Run(e, Lp, lp);
                }
                double d = Math.FusedMultiplyAdd(NegNotchGain, yn, xb);
                acc.SumBand = Math.FusedMultiplyAdd(xb, xb, acc.SumBand);
                acc.SumRemoved = Math.FusedMultiplyAdd(d, d, acc.SumRemoved);
                acc.SumSquares = Math.FusedMultiplyAdd(yn, yn, acc.SumSquares);
                if (writeFiltered)
                {
                    filtered[(i * channels) + ch] = notchOn ? notchGain * yn : xb;
                }
                if (--next == 0)
                {
                    // The sub-block is complete: into the ring, and at an output the window is summed from the ring.
                    _ring[(position * channels) + ch] = acc;
                    position = position + 1 == RingLength ? 0 : position + 1;
                    if (completed == nextOutput)
                    {
                        SumWindow(outputs, ch, position, acc.LinearEnvelope);
                        outputs++;
                        nextOutput += SubBlocksPerOutput;
                    }
                    completed++;
                    acc = Empty;
                    next = SubBlock;
                }
            }
            _carry[ch] = acc;
        }
        _ringPosition = position;
        _combSlot = combSlot;
        return outputs;
    }

    public override void Reset()
    {
        Array.Clear(_bpState);
        Array.Clear(_notchState);
        Array.Clear(_lpState);
        Array.Fill(_carry, Empty);
        Array.Fill(_ring, Empty);
        Array.Clear(_combIn);
        Array.Clear(_combOut);
        _ringPosition = 0;
        _combSlot = 0;
    }

    private static PartialSums Empty => new() { Min = double.PositiveInfinity, Max = double.NegativeInfinity };

    // Oldest entry first, from zero: every window is summed afresh, so no rounding error outlives it.
    private void SumWindow(int output, int ch, int oldest, double linearEnvelope)
    {
        PartialSums w = Empty;
        int j = oldest;
        for (int k = 0; k < RingLength; k++)
        {
            ref PartialSums e = ref _ring[(j * Channels) + ch];
            w.SumSquares += e.SumSquares;
            w.SumBand += e.SumBand;
            w.SumRemoved += e.SumRemoved;
            w.Min = Math.Min(w.Min, e.Min);
            w.Max = Math.Max(w.Max, e.Max);
            j = j + 1 == RingLength ? 0 : j + 1;
        }
        int at = output * WindowQuantities * PaddedChannels;
        Windows[at + (Squares * PaddedChannels) + ch] = w.SumSquares;
        Windows[at + (Band * PaddedChannels) + ch] = w.SumBand;
        Windows[at + (Removed * PaddedChannels) + ch] = w.SumRemoved;
        Windows[at + (Min * PaddedChannels) + ch] = w.Min;
        Windows[at + (Max * PaddedChannels) + ch] = w.Max;
        Windows[at + (Linear * PaddedChannels) + ch] = linearEnvelope;
    }

    private static double Run(double x, NormalizedCascade cascade, Span<double> state) => cascade.Form switch
    {
        NumeratorForm.BandPass => Run<BandPassNumerator>(x, cascade, state),
        NumeratorForm.Symmetric => Run<SymmetricNumerator>(x, cascade, state),
        _ => Run<GeneralNumerator>(x, cascade, state),
    };

    // Transposed direct form II, numerator [1, c, b2]: y = x + s1; s1 = c x - a1 y + s2; s2 = b2 x - a2 y.
    private static double Run<TForm>(double x, NormalizedCascade cascade, Span<double> state)
        where TForm : struct, INumeratorForm
    {
        double[] c = cascade.C;
        double[] b2 = cascade.B2;
        double[] na1 = cascade.NegA1;
        double[] na2 = cascade.NegA2;
        for (int k = 0; k < c.Length; k++)
        {
            double y = x + state[2 * k];
            state[2 * k] = TForm.S1(x, y, c[k], na1[k], state[(2 * k) + 1]);
            state[(2 * k) + 1] = TForm.S2(x, y, b2[k], na2[k]);
            x = y;
        }
        return x;
    }

    private struct PartialSums
    {
        public double SumSquares;
        public double SumBand;
        public double SumRemoved;
        public double Min;
        public double Max;
        public double LinearEnvelope;
    }
}
