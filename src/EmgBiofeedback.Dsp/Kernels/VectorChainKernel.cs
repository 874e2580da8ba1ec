using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmgBiofeedback.Dsp.Kernels;

/// <summary>
/// Eight channels per <see cref="Vector512{T}"/> of doubles, one vector per sample instant (the interleaved frame
/// maps straight onto it), over chunks of up to <see cref="ChainKernel.MaxChunk"/> instants. Whole groups of eight
/// channels with a four-section [1, 0, -1] band-pass and the comb notch (the defaults at 1 kHz) run in one pass per
/// instant (<see cref="OnePass"/>); anything else runs in passes, each keeping up to four sections' states and
/// coefficients in registers. Same operations, same order as <see cref="ScalarChainKernel"/>: bit-identical results.
/// </summary>
internal sealed class VectorChainKernel : ChainKernel
{
    private const int Lanes = 8;
    private const int RingSums = 5; // squares, band, removed, min, max

    private readonly int _groups;
    private readonly bool _fullGroups;
    private readonly bool _onePass;            // OnePass runs every group, else the passes
    private readonly AlignedVectors _onePassConstants; // scale, bias, comb A, -notch gain: [g * 4 + k]
    private readonly AlignedVectors _completed;        // the sub-blocks one OnePassChunk call closed, as ring entries: [k * 5 + q]
    private readonly AlignedVectors _scale;
    private readonly AlignedVectors _bias;
    private readonly AlignedVectors _bpCoef;
    private readonly AlignedVectors _notchCoef;
    private readonly AlignedVectors _lpCoef;
    private readonly AlignedVectors _bpState;
    private readonly AlignedVectors _notchState;
    private readonly AlignedVectors _lpState;
    private readonly AlignedVectors _carry;   // the sub-block in progress: [g * 5 + q]
    private readonly AlignedVectors _minMax;  // the passes' min and max of each sub-block completed in this call: [(g * maxCompleted + k) * 2 + q]
    private readonly AlignedVectors _ring;    // completed sub-blocks of the current window: [(entry * groups + g) * 5 + q]
    // Work buffers: [CombDelay + instant]; the first CombDelay entries of _a and _b hold the comb's history (its last N
    // inputs and outputs) while the comb runs.
    private readonly AlignedVectors _a;
    private readonly AlignedVectors _b;
    private readonly AlignedVectors _c;
    private readonly AlignedVectors _combIn;  // the comb's last N inputs and outputs between calls: [g * N + k]
    private readonly AlignedVectors _combOut;
    private int _ringPosition;                     // the oldest entry, where the next one goes

    public VectorChainKernel(SignalChainDesign design)
        : base(design, ((design.ChannelCount + Lanes - 1) / Lanes) * Lanes)
    {
        _groups = PaddedChannels / Lanes;
        _fullGroups = Channels % Lanes == 0;
        _onePass = _fullGroups && CombDelay > 0 && Bp.Count == 4 && Bp.Form == NumeratorForm.BandPass && Avx512F.IsSupported && Avx2.IsSupported;
        _a = new AlignedVectors(CombDelay + MaxChunk);
        _b = new AlignedVectors(CombDelay + MaxChunk);
        _c = new AlignedVectors(CombDelay + MaxChunk);
        _combIn = new AlignedVectors(_groups * CombDelay);
        _combOut = new AlignedVectors(_groups * CombDelay);
        _scale = new AlignedVectors(_groups);
        _bias = new AlignedVectors(_groups);
        Span<double> lanes = stackalloc double[Lanes];
        for (int g = 0; g < _groups; g++)
        {
            for (int j = 0; j < Lanes; j++)
            {
                int ch = (g * Lanes) + j;
                lanes[j] = ch < Channels ? Scale[ch] : 0;
            }
            _scale[g] = Vector512.Create<double>(lanes);
            for (int j = 0; j < Lanes; j++)
            {
                int ch = (g * Lanes) + j;
                lanes[j] = ch < Channels ? Bias[ch] : 0;
            }
            _bias[g] = Vector512.Create<double>(lanes);
        }
        // Each path's own buffers only (the other's are empty).
        _onePassConstants = new AlignedVectors(_onePass ? _groups * 4 : 0);
        _completed = new AlignedVectors(_onePass ? MaxCompleted * RingSums : 0);
        _minMax = new AlignedVectors(_onePass ? 0 : _groups * MaxCompleted * 2);
        for (int g = 0; g < (_onePass ? _groups : 0); g++)
        {
            _onePassConstants[g * 4] = _scale[g];
            _onePassConstants[(g * 4) + 1] = _bias[g];
            _onePassConstants[(g * 4) + 2] = Vector512.Create(CombA);
            _onePassConstants[(g * 4) + 3] = Vector512.Create(NegNotchGain);
        }
        _bpCoef = Coefficients(Bp);
        _notchCoef = Coefficients(Notch);
        _lpCoef = Coefficients(Lp);
        _bpState = new AlignedVectors(_groups * 2 * Bp.Count);
        _notchState = new AlignedVectors(_groups * 2 * Notch.Count);
        _lpState = new AlignedVectors(_groups * 2 * Lp.Count);
        _carry = new AlignedVectors(_groups * RingSums);
        _ring = new AlignedVectors(RingLength * _groups * RingSums);
        Reset();
    }

    public override int Process(ReadOnlySpan<int> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered) =>
        throw new NotSupportedException("32-bit counts run through the scalar kernel (the design says so).");

    public override int Process(ReadOnlySpan<ushort> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered)
    {
        int completed = CompletedIn(frames, toBoundary, SubBlock);
        int outputs = 0;
        int position = _ringPosition;
        for (int g = 0; g < _groups; g++)
        {
            if (_onePass)
            {
                LoadCombHistory(g);
                outputs = OnePass(counts, frames, toBoundary, completed, firstOutput, g, out position);
                SaveCombHistory(g, frames);
                FinishGroup(filtered, frames, toBoundary, firstOutput, outputs, g);
                continue;
            }

            Convert(counts, frames, toBoundary, completed, g);

            Span<Vector512<double>> bpState = _bpState.AsSpan(g * 2 * Bp.Count, 2 * Bp.Count);
            Cascade(_a, _a, frames, Bp.Form, _bpCoef, bpState);

            // All notches but the last in passes of up to four; the last runs in the pass that sums the squares, which
            // would otherwise wait on its own recursion's latency.
            int lastNotch = Notch.Count - 1;
            Span<Vector512<double>> notchState = _notchState.AsSpan(g * 2 * Notch.Count, 2 * Notch.Count);
            if (CombDelay > 0)
            {
                LoadCombHistory(g);
                outputs = CombAndSums(frames, toBoundary, completed, firstOutput, g, out position);
                SaveCombHistory(g, frames);
            }
            else if (Notch.Form == NumeratorForm.Symmetric)
            {
                Cascade<SymmetricNumerator>(_a, _b, frames, _notchCoef, notchState[..(2 * lastNotch)]);
                outputs = NotchAndSums<SymmetricNumerator>(frames, toBoundary, completed, firstOutput, g, lastNotch > 0, notchState[(2 * lastNotch)..], out position);
            }
            else
            {
                Cascade<GeneralNumerator>(_a, _b, frames, _notchCoef, notchState[..(2 * lastNotch)]);
                outputs = NotchAndSums<GeneralNumerator>(frames, toBoundary, completed, firstOutput, g, lastNotch > 0, notchState[(2 * lastNotch)..], out position);
            }

            FinishGroup(filtered, frames, toBoundary, firstOutput, outputs, g);
        }
        _ringPosition = position;
        return outputs;
    }

    // The comb's last N inputs and outputs of group g into the N entries before instant 0 of _a and _b, and back
    // (the last N of this chunk) after it.
    private void LoadCombHistory(int g)
    {
        int n = CombDelay;
        _combIn.AsSpan(g * n, n).CopyTo(_a.Span);
        _combOut.AsSpan(g * n, n).CopyTo(_b.Span);
    }

    private void SaveCombHistory(int g, int frames)
    {
        int n = CombDelay;
        _a.AsSpan(frames, n).CopyTo(_combIn.AsSpan(g * n, n));
        _b.AsSpan(frames, n).CopyTo(_combOut.AsSpan(g * n, n));
    }

    private void FinishGroup(Span<double> filtered, int frames, int toBoundary, int firstOutput, int outputs, int g)
    {
        if (Design.LinearEnvelopeEnabled)
        {
            LinearEnvelope(frames, toBoundary, firstOutput, outputs, g);
        }
        if (!filtered.IsEmpty)
        {
            StoreFiltered(filtered, frames, g);
        }
    }

    // Group g's chunk in one pass per sample instant: counts -> µV, four band-pass sections [1, 0, -1], the comb and
    // the sums. Run as separate passes, each pass waits on its own recursion's latency (the sections' 6-7 cycles, the
    // sums' 4) with the core's other units idle; in one loop the out-of-order core overlaps them across instants.
    // Same operations in the same order as the passes, so the results are bit-identical.
    private int OnePass(ReadOnlySpan<ushort> counts, int frames, int toBoundary, int completed, int firstOutput, int g, out int position)
    {
        OnePassChunk(ref Unsafe.Add(ref MemoryMarshal.GetReference(counts), g * Lanes), Channels, frames, toBoundary, SubBlock,
            ref _bpCoef.First, ref _bpState[g * 2 * Bp.Count], ref _carry[g * RingSums], ref _onePassConstants[g * 4],
            ref Base(_a), ref Base(_b), CombDelay, ref _completed.First);

        // The sub-blocks' sums into the ring; each output's window summed afresh from it.
        ref Vector512<double> done = ref _completed.First;
        position = _ringPosition;
        int outputs = 0;
        int nextOutput = firstOutput;
        for (int k = 0; k < completed; k++)
        {
            ref Vector512<double> entry = ref RingEntry(position, g);
            for (int q = 0; q < RingSums; q++)
            {
                Unsafe.Add(ref entry, q) = Unsafe.Add(ref done, (k * RingSums) + q);
            }
            position = RingAdvanced(g, k, position, ref nextOutput, ref outputs);
        }
        return outputs;
    }

    // Instants [0, frames): sums and the raw counts' min and max closed into `done` at every sub-block end
    // ([k * 5 + q], as a ring entry), the open sub-block carried in `carry`. Static, every input behind a ref, one loop
    // with no call in it: the shape in which the JIT keeps the states in registers whether or not it has profile data
    // (with the sub-block bookkeeping's calls in the loop it spilled them to the stack without: 3.5x slower). The
    // sections need no c or b2 (BandPassNumerator ignores them).
    private static void OnePassChunk(ref ushort first, int stride, int frames, int toBoundary, int subBlock, ref Vector512<double> cf,
        ref Vector512<double> st, ref Vector512<double> carry, ref Vector512<double> consts, ref Vector512<double> a, ref Vector512<double> b,
        int lag, ref Vector512<double> done)
    {
        Vector512<double> scale = consts, bias = Unsafe.Add(ref consts, 1), combA = Unsafe.Add(ref consts, 2), negGain = Unsafe.Add(ref consts, 3);
        Vector512<double> p0 = Unsafe.Add(ref cf, 2), q0 = Unsafe.Add(ref cf, 3);
        Vector512<double> p1 = Unsafe.Add(ref cf, 6), q1 = Unsafe.Add(ref cf, 7);
        Vector512<double> p2 = Unsafe.Add(ref cf, 10), q2 = Unsafe.Add(ref cf, 11);
        Vector512<double> p3 = Unsafe.Add(ref cf, 14), q3 = Unsafe.Add(ref cf, 15);
        Vector512<double> u0 = st, v0 = Unsafe.Add(ref st, 1), u1 = Unsafe.Add(ref st, 2), v1 = Unsafe.Add(ref st, 3);
        Vector512<double> u2 = Unsafe.Add(ref st, 4), v2 = Unsafe.Add(ref st, 5), u3 = Unsafe.Add(ref st, 6), v3 = Unsafe.Add(ref st, 7);
        Vector512<double> sq = carry, band = Unsafe.Add(ref carry, 1), removed = Unsafe.Add(ref carry, 2);
        // Min and max on the packed counts (128-bit, cheap), converted once per sub-block: exact, the same values.
        Vector128<ushort> umn = Vector128<ushort>.AllBitsSet, umx = Vector128<ushort>.Zero;
        ref Vector512<double> aLag = ref Unsafe.Subtract(ref a, lag);
        ref Vector512<double> bLag = ref Unsafe.Subtract(ref b, lag);
        int boundary = toBoundary;
        int k = 0;
        for (int i = 0; i < frames; i++)
        {
            Vector128<ushort> packed = Vector128.LoadUnsafe(ref Unsafe.Add(ref first, i * stride));
            umn = Vector128.Min(umn, packed);
            umx = Vector128.Max(umx, packed);
            Vector512<double> x = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(packed)), scale, bias);
            Vector512<double> y = x + u0;
            u0 = BandPassNumerator.S1(x, y, default, p0, v0);
            v0 = BandPassNumerator.S2(x, y, default, q0);
            x = y;
            y = x + u1;
            u1 = BandPassNumerator.S1(x, y, default, p1, v1);
            v1 = BandPassNumerator.S2(x, y, default, q1);
            x = y;
            y = x + u2;
            u2 = BandPassNumerator.S1(x, y, default, p2, v2);
            v2 = BandPassNumerator.S2(x, y, default, q2);
            x = y;
            y = x + u3;
            u3 = BandPassNumerator.S1(x, y, default, p3, v3);
            v3 = BandPassNumerator.S2(x, y, default, q3);
            Unsafe.Add(ref a, i) = y;
            Vector512<double> yn = Vector512.FusedMultiplyAdd(combA, Unsafe.Add(ref bLag, i), y - Unsafe.Add(ref aLag, i));
            Unsafe.Add(ref b, i) = yn;
            Vector512<double> d = Vector512.FusedMultiplyAdd(negGain, yn, y);
            band = Vector512.FusedMultiplyAdd(y, y, band);
            removed = Vector512.FusedMultiplyAdd(d, d, removed);
            sq = Vector512.FusedMultiplyAdd(yn, yn, sq);
            if (i + 1 == boundary)
            {
                ref Vector512<double> entry = ref Unsafe.Add(ref done, k * RingSums);
                entry = sq;
                Unsafe.Add(ref entry, 1) = band;
                Unsafe.Add(ref entry, 2) = removed;
                Unsafe.Add(ref entry, 3) = Vector512.MinNative(Unsafe.Add(ref carry, 3), Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umn)));
                Unsafe.Add(ref entry, 4) = Vector512.MaxNative(Unsafe.Add(ref carry, 4), Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umx)));
                Unsafe.Add(ref carry, 3) = Vector512.Create(double.PositiveInfinity);
                Unsafe.Add(ref carry, 4) = Vector512.Create(double.NegativeInfinity);
                sq = Vector512<double>.Zero;
                band = Vector512<double>.Zero;
                removed = Vector512<double>.Zero;
                umn = Vector128<ushort>.AllBitsSet;
                umx = Vector128<ushort>.Zero;
                boundary += subBlock;
                k++;
            }
        }
        st = u0;
        Unsafe.Add(ref st, 1) = v0;
        Unsafe.Add(ref st, 2) = u1;
        Unsafe.Add(ref st, 3) = v1;
        Unsafe.Add(ref st, 4) = u2;
        Unsafe.Add(ref st, 5) = v2;
        Unsafe.Add(ref st, 6) = u3;
        Unsafe.Add(ref st, 7) = v3;
        carry = sq;
        Unsafe.Add(ref carry, 1) = band;
        Unsafe.Add(ref carry, 2) = removed;
        if (frames > boundary - subBlock)
        {
            // Instants since the last boundary (or the chunk's start): their count range joins the open sub-block's.
            Unsafe.Add(ref carry, 3) = Vector512.MinNative(Unsafe.Add(ref carry, 3), Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umn)));
            Unsafe.Add(ref carry, 4) = Vector512.MaxNative(Unsafe.Add(ref carry, 4), Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umx)));
        }
    }

    public override void Reset()
    {
        _bpState.Clear();
        _notchState.Clear();
        _lpState.Clear();
        _combIn.Clear();
        _combOut.Clear();
        for (int e = 0; e < _groups; e++)
        {
            ClearSums(_carry.AsSpan(e * RingSums, RingSums));
        }
        for (int e = 0; e < RingLength * _groups; e++)
        {
            ClearSums(_ring.AsSpan(e * RingSums, RingSums));
        }
        _ringPosition = 0;
    }

    private static void ClearSums(Span<Vector512<double>> sums)
    {
        sums[0] = Vector512<double>.Zero;
        sums[1] = Vector512<double>.Zero;
        sums[2] = Vector512<double>.Zero;
        sums[3] = Vector512.Create(double.PositiveInfinity);
        sums[4] = Vector512.Create(double.NegativeInfinity);
    }

    private static AlignedVectors Coefficients(NormalizedCascade cascade)
    {
        var coef = new AlignedVectors(4 * cascade.Count);
        for (int k = 0; k < cascade.Count; k++)
        {
            coef[4 * k] = Vector512.Create(cascade.C[k]);
            coef[(4 * k) + 1] = Vector512.Create(cascade.B2[k]);
            coef[(4 * k) + 2] = Vector512.Create(cascade.NegA1[k]);
            coef[(4 * k) + 3] = Vector512.Create(cascade.NegA2[k]);
        }
        return coef;
    }

    // Counts -> µV (band-pass gain folded in) into _a; min and max of the raw counts per sub-block. MinNative/MaxNative
    // (one vminpd/vmaxpd) equal Math.Min/Max here: counts are never NaN and never -0.
    private void Convert(ReadOnlySpan<ushort> counts, int frames, int toBoundary, int completed, int g)
    {
        Span<Vector512<double>> carry = _carry.AsSpan(g * RingSums, RingSums);
        Vector512<double> mn = carry[3];
        Vector512<double> mx = carry[4];
        Vector512<double> scale = _scale[g];
        Vector512<double> bias = _bias[g];
        ref ushort first = ref Unsafe.Add(ref MemoryMarshal.GetReference(counts), g * Lanes);
        ref Vector512<double> a = ref Base(_a);
        int stride = Channels;
        int live = Math.Min(Lanes, Channels - (g * Lanes));
        int start = 0;
        for (int k = 0; k <= completed; k++)
        {
            int end = k < completed ? toBoundary + (k * SubBlock) : frames;
            if (_fullGroups && Avx512F.IsSupported && Avx2.IsSupported)
            {
                // Min and max on the packed counts (128-bit, cheap), converted once per stretch: exact, the same values.
                Vector128<ushort> umn = Vector128<ushort>.AllBitsSet, umx = Vector128<ushort>.Zero;
                for (int i = start; i < end; i++)
                {
                    Vector128<ushort> packed = Vector128.LoadUnsafe(ref Unsafe.Add(ref first, i * stride));
                    umn = Vector128.Min(umn, packed);
                    umx = Vector128.Max(umx, packed);
                    Vector512<double> raw = Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(packed));
                    Unsafe.Add(ref a, i) = Vector512.FusedMultiplyAdd(raw, scale, bias);
                }
                if (end > start)
                {
                    mn = Vector512.MinNative(mn, Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umn)));
                    mx = Vector512.MaxNative(mx, Avx512F.ConvertToVector512Double(Avx2.ConvertToVector256Int32(umx)));
                }
            }
            else if (_fullGroups)
            {
                for (int i = start; i < end; i++)
                {
                    Vector128<ushort> packed = Vector128.LoadUnsafe(ref Unsafe.Add(ref first, i * stride));
                    Vector256<uint> wide = Vector256.Create(Vector128.WidenLower(packed), Vector128.WidenUpper(packed));
                    Vector512<ulong> wider = Vector512.Create(Vector256.WidenLower(wide), Vector256.WidenUpper(wide));
                    Vector512<double> raw = Vector512.ConvertToDouble(wider);
                    mn = Vector512.MinNative(mn, raw);
                    mx = Vector512.MaxNative(mx, raw);
                    Unsafe.Add(ref a, i) = Vector512.FusedMultiplyAdd(raw, scale, bias);
                }
            }
            else
            {
                for (int i = start; i < end; i++)
                {
                    ref ushort frame = ref Unsafe.Add(ref first, i * stride);
                    Vector512<double> raw = Vector512<double>.Zero;
                    for (int j = 0; j < live; j++)
                    {
                        raw = raw.WithElement(j, Unsafe.Add(ref frame, j));
                    }
                    mn = Vector512.MinNative(mn, raw);
                    mx = Vector512.MaxNative(mx, raw);
                    Unsafe.Add(ref a, i) = Vector512.FusedMultiplyAdd(raw, scale, bias);
                }
            }
            if (k < completed)
            {
                int at = ((g * MaxCompleted) + k) * 2;
                _minMax[at] = mn;
                _minMax[at + 1] = mx;
                mn = Vector512.Create(double.PositiveInfinity);
                mx = Vector512.Create(double.NegativeInfinity);
            }
            start = end;
        }
        carry[3] = mn;
        carry[4] = mx;
    }

    // The last notch section (_b in place, or _a -> _b when it is the only one), fused with the sums of squares of the
    // band-passed signal (_a), of the notched one (before the notch gain) and of what the notches removed
    // (a - gain * b). At each sub-block's end its sums go into the ring; at each output the window is summed afresh.
    private int NotchAndSums<TForm>(int frames, int toBoundary, int completed, int firstOutput, int g, bool inPlace,
        Span<Vector512<double>> state, out int position)
        where TForm : struct, INumeratorForm
    {
        Span<Vector512<double>> carry = _carry.AsSpan(g * RingSums, RingSums);
        Vector512<double> sq = carry[0];
        Vector512<double> band = carry[1];
        Vector512<double> removed = carry[2];
        Vector512<double> negGain = Vector512.Create(NegNotchGain);
        int last = Notch.Count - 1;
        Vector512<double> c0 = _notchCoef[4 * last], b0 = _notchCoef[(4 * last) + 1];
        Vector512<double> p0 = _notchCoef[(4 * last) + 2], q0 = _notchCoef[(4 * last) + 3];
        Vector512<double> u0 = state[0], v0 = state[1];
        ref Vector512<double> a = ref Base(_a);
        ref Vector512<double> b = ref Base(_b);
        ref Vector512<double> from = ref inPlace ? ref b : ref a;
        position = _ringPosition;
        int outputs = 0;
        int nextOutput = firstOutput;
        int start = 0;
        for (int k = 0; k <= completed; k++)
        {
            int end = k < completed ? toBoundary + (k * SubBlock) : frames;
            for (int i = start; i < end; i++)
            {
                Vector512<double> x = Unsafe.Add(ref from, i);
                Vector512<double> yn = x + u0;
                u0 = TForm.S1(x, yn, c0, p0, v0);
                v0 = TForm.S2(x, yn, b0, q0);
                Unsafe.Add(ref b, i) = yn;
                Vector512<double> xb = Unsafe.Add(ref a, i);
                Vector512<double> d = Vector512.FusedMultiplyAdd(negGain, yn, xb);
                band = Vector512.FusedMultiplyAdd(xb, xb, band);
                removed = Vector512.FusedMultiplyAdd(d, d, removed);
                sq = Vector512.FusedMultiplyAdd(yn, yn, sq);
            }
            if (k < completed)
            {
                position = CloseSubBlock(g, k, position, sq, band, removed, ref nextOutput, ref outputs);
                sq = Vector512<double>.Zero;
                band = Vector512<double>.Zero;
                removed = Vector512<double>.Zero;
            }
            start = end;
        }
        state[0] = u0;
        state[1] = v0;
        carry[0] = sq;
        carry[1] = band;
        carry[2] = removed;
        return outputs;
    }

    // The comb (_a -> _b, normalised: w = (x - x[i-N]) + A w[i-N], the history in the buffers' first N entries), fused
    // with the sums as in NotchAndSums.
    private int CombAndSums(int frames, int toBoundary, int completed, int firstOutput, int g, out int position)
    {
        Span<Vector512<double>> carry = _carry.AsSpan(g * RingSums, RingSums);
        Vector512<double> sq = carry[0];
        Vector512<double> band = carry[1];
        Vector512<double> removed = carry[2];
        Vector512<double> negGain = Vector512.Create(NegNotchGain);
        Vector512<double> combA = Vector512.Create(CombA);
        ref Vector512<double> a = ref Base(_a);
        ref Vector512<double> b = ref Base(_b);
        ref Vector512<double> aLag = ref _a.First;
        ref Vector512<double> bLag = ref _b.First;
        position = _ringPosition;
        int outputs = 0;
        int nextOutput = firstOutput;
        int start = 0;
        for (int k = 0; k <= completed; k++)
        {
            int end = k < completed ? toBoundary + (k * SubBlock) : frames;
            for (int i = start; i < end; i++)
            {
                Vector512<double> xb = Unsafe.Add(ref a, i);
                Vector512<double> yn = Vector512.FusedMultiplyAdd(combA, Unsafe.Add(ref bLag, i), xb - Unsafe.Add(ref aLag, i));
                Unsafe.Add(ref b, i) = yn;
                Vector512<double> d = Vector512.FusedMultiplyAdd(negGain, yn, xb);
                band = Vector512.FusedMultiplyAdd(xb, xb, band);
                removed = Vector512.FusedMultiplyAdd(d, d, removed);
                sq = Vector512.FusedMultiplyAdd(yn, yn, sq);
            }
            if (k < completed)
            {
                position = CloseSubBlock(g, k, position, sq, band, removed, ref nextOutput, ref outputs);
                sq = Vector512<double>.Zero;
                band = Vector512<double>.Zero;
                removed = Vector512<double>.Zero;
            }
            start = end;
        }
        carry[0] = sq;
        carry[1] = band;
        carry[2] = removed;
        return outputs;
    }

    // A sub-block of the passes complete: its sums and count range into the ring.
    private int CloseSubBlock(int g, int k, int position, Vector512<double> sq, Vector512<double> band, Vector512<double> removed, ref int nextOutput, ref int outputs)
    {
        ref Vector512<double> entry = ref RingEntry(position, g);
        entry = sq;
        Unsafe.Add(ref entry, 1) = band;
        Unsafe.Add(ref entry, 2) = removed;
        Unsafe.Add(ref entry, 3) = _minMax[((g * MaxCompleted) + k) * 2];
        Unsafe.Add(ref entry, 4) = _minMax[(((g * MaxCompleted) + k) * 2) + 1];
        return RingAdvanced(g, k, position, ref nextOutput, ref outputs);
    }

    // Group g's five sums of the ring entry at `position`.
    private ref Vector512<double> RingEntry(int position, int g) => ref Unsafe.Add(ref _ring.First, ((position * _groups) + g) * RingSums);

    // Completed sub-block k of this call is in the ring at `position`: the next entry is the oldest, and at an output
    // the window is summed.
    private int RingAdvanced(int g, int k, int position, ref int nextOutput, ref int outputs)
    {
        position = position + 1 == RingLength ? 0 : position + 1;
        if (k == nextOutput)
        {
            SumWindow(outputs, g, position);
            outputs++;
            nextOutput += SubBlocksPerOutput;
        }
        return position;
    }

    // Oldest entry first, from zero, as the scalar kernel does.
    private void SumWindow(int output, int g, int oldest)
    {
        Vector512<double> sq = Vector512<double>.Zero, band = Vector512<double>.Zero, removed = Vector512<double>.Zero;
        Vector512<double> mn = Vector512.Create(double.PositiveInfinity), mx = Vector512.Create(double.NegativeInfinity);
        int step = _groups * RingSums;
        int length = RingLength;
        ref Vector512<double> ring = ref Unsafe.Add(ref _ring.First, g * RingSums);
        ref Vector512<double> entry = ref Unsafe.Add(ref ring, oldest * step);
        for (int k = 0, j = oldest; k < length; k++)
        {
            sq += entry;
            band += Unsafe.Add(ref entry, 1);
            removed += Unsafe.Add(ref entry, 2);
            mn = Vector512.MinNative(mn, Unsafe.Add(ref entry, 3));
            mx = Vector512.MaxNative(mx, Unsafe.Add(ref entry, 4));
            if (++j == length)
            {
                j = 0;
                entry = ref ring;
            }
            else
            {
                entry = ref Unsafe.Add(ref entry, step);
            }
        }
        int stride = PaddedChannels;
        ref double w = ref Windows[(output * WindowQuantities * stride) + (g * Lanes)];
        sq.StoreUnsafe(ref w, (nuint)(Squares * stride));
        band.StoreUnsafe(ref w, (nuint)(Band * stride));
        removed.StoreUnsafe(ref w, (nuint)(Removed * stride));
        mn.StoreUnsafe(ref w, (nuint)(Min * stride));
        mx.StoreUnsafe(ref w, (nuint)(Max * stride));
    }

    // |notched| (or |band-passed| with the notch off) -> low-pass; its value at each output's last instant.
    private void LinearEnvelope(int frames, int toBoundary, int firstOutput, int outputs, int g)
    {
        AlignedVectors source = Design.NotchEnabled ? _b : _a;
        ref Vector512<double> src = ref Base(source);
        ref Vector512<double> c = ref Base(_c);
        for (int i = 0; i < frames; i++)
        {
            Unsafe.Add(ref c, i) = Vector512.Abs(Unsafe.Add(ref src, i));
        }
        Span<Vector512<double>> state = _lpState.AsSpan(g * 2 * Lp.Count, 2 * Lp.Count);
        Cascade(_c, _c, frames, Lp.Form, _lpCoef, state);
        for (int o = 0; o < outputs; o++)
        {
            int instant = toBoundary - 1 + ((firstOutput + (o * SubBlocksPerOutput)) * SubBlock);
            _c[CombDelay + instant].StoreUnsafe(ref Windows[(((o * WindowQuantities) + Linear) * PaddedChannels) + (g * Lanes)]);
        }
    }

    private void StoreFiltered(Span<double> filtered, int frames, int g)
    {
        bool notchOn = Design.NotchEnabled;
        Vector512<double> gain = Vector512.Create(NotchGain);
        int stride = Channels;
        int live = Math.Min(Lanes, Channels - (g * Lanes));
        ref double first = ref Unsafe.Add(ref MemoryMarshal.GetReference(filtered), g * Lanes);
        for (int i = 0; i < frames; i++)
        {
            Vector512<double> v = notchOn ? gain * _b[CombDelay + i] : _a[CombDelay + i];
            if (_fullGroups)
            {
                v.StoreUnsafe(ref Unsafe.Add(ref first, i * stride));
            }
            else
            {
                ref double frame = ref Unsafe.Add(ref first, i * stride);
                for (int j = 0; j < live; j++)
                {
                    Unsafe.Add(ref frame, j) = v.GetElement(j);
                }
            }
        }
    }

    // Instant 0 of a work buffer, after the comb's history.
    private ref Vector512<double> Base(AlignedVectors buffer) => ref Unsafe.Add(ref buffer.First, CombDelay);

    private void Cascade(AlignedVectors src, AlignedVectors dst, int n, NumeratorForm form, AlignedVectors coef, Span<Vector512<double>> state)
    {
        switch (form)
        {
            case NumeratorForm.BandPass:
                Cascade<BandPassNumerator>(src, dst, n, coef, state);
                break;
            case NumeratorForm.Symmetric:
                Cascade<SymmetricNumerator>(src, dst, n, coef, state);
                break;
            default:
                Cascade<GeneralNumerator>(src, dst, n, coef, state);
                break;
        }
    }

    // Runs a cascade over n instants, src -> dst (may be the same buffer), four sections per pass (state in registers).
    private void Cascade<TForm>(AlignedVectors src, AlignedVectors dst, int n, AlignedVectors coef, Span<Vector512<double>> state)
        where TForm : struct, INumeratorForm
    {
        int count = state.Length / 2;
        if (count == 0)
        {
            return; // nothing to run; the caller reads src
        }
        ref Vector512<double> from = ref Base(src);
        ref Vector512<double> to = ref Base(dst);
        ref Vector512<double> cf = ref coef.First;
        ref Vector512<double> st = ref MemoryMarshal.GetReference(state);
        int k = 0;
        while (k < count)
        {
            int left = count - k;
            ref Vector512<double> c = ref Unsafe.Add(ref cf, 4 * k);
            ref Vector512<double> s = ref Unsafe.Add(ref st, 2 * k);
            if (left >= 4)
            {
                Run4<TForm>(ref from, ref to, n, ref c, ref s);
                k += 4;
            }
            else if (left >= 2)
            {
                Run2<TForm>(ref from, ref to, n, ref c, ref s);
                k += 2;
            }
            else
            {
                Run1<TForm>(ref from, ref to, n, ref c, ref s);
                k += 1;
            }
            from = ref to;
        }
    }

    // Transposed direct form II, numerator [1, c, b2]: y = x + s1; s1 = c x - a1 y + s2; s2 = b2 x - a2 y.
    private static void Run4<TForm>(ref Vector512<double> from, ref Vector512<double> to, int n, ref Vector512<double> cf, ref Vector512<double> st)
        where TForm : struct, INumeratorForm
    {
        Vector512<double> c0 = cf, b0 = Unsafe.Add(ref cf, 1), p0 = Unsafe.Add(ref cf, 2), q0 = Unsafe.Add(ref cf, 3);
        Vector512<double> c1 = Unsafe.Add(ref cf, 4), b1 = Unsafe.Add(ref cf, 5), p1 = Unsafe.Add(ref cf, 6), q1 = Unsafe.Add(ref cf, 7);
        Vector512<double> c2 = Unsafe.Add(ref cf, 8), b2 = Unsafe.Add(ref cf, 9), p2 = Unsafe.Add(ref cf, 10), q2 = Unsafe.Add(ref cf, 11);
        Vector512<double> c3 = Unsafe.Add(ref cf, 12), b3 = Unsafe.Add(ref cf, 13), p3 = Unsafe.Add(ref cf, 14), q3 = Unsafe.Add(ref cf, 15);
        Vector512<double> u0 = st, v0 = Unsafe.Add(ref st, 1);
        Vector512<double> u1 = Unsafe.Add(ref st, 2), v1 = Unsafe.Add(ref st, 3);
        Vector512<double> u2 = Unsafe.Add(ref st, 4), v2 = Unsafe.Add(ref st, 5);
        Vector512<double> u3 = Unsafe.Add(ref st, 6), v3 = Unsafe.Add(ref st, 7);
        for (int i = 0; i < n; i++)
        {
            Vector512<double> x = Unsafe.Add(ref from, i);
            Vector512<double> y = x + u0;
            u0 = TForm.S1(x, y, c0, p0, v0);
            v0 = TForm.S2(x, y, b0, q0);
            x = y;
            y = x + u1;
            u1 = TForm.S1(x, y, c1, p1, v1);
            v1 = TForm.S2(x, y, b1, q1);
            x = y;
            y = x + u2;
            u2 = TForm.S1(x, y, c2, p2, v2);
            v2 = TForm.S2(x, y, b2, q2);
            x = y;
            y = x + u3;
            u3 = TForm.S1(x, y, c3, p3, v3);
            v3 = TForm.S2(x, y, b3, q3);
            Unsafe.Add(ref to, i) = y;
        }
        st = u0;
        Unsafe.Add(ref st, 1) = v0;
        Unsafe.Add(ref st, 2) = u1;
        Unsafe.Add(ref st, 3) = v1;
        Unsafe.Add(ref st, 4) = u2;
        Unsafe.Add(ref st, 5) = v2;
        Unsafe.Add(ref st, 6) = u3;
        Unsafe.Add(ref st, 7) = v3;
    }

    private static void Run2<TForm>(ref Vector512<double> from, ref Vector512<double> to, int n, ref Vector512<double> cf, ref Vector512<double> st)
        where TForm : struct, INumeratorForm
    {
        Vector512<double> c0 = cf, b0 = Unsafe.Add(ref cf, 1), p0 = Unsafe.Add(ref cf, 2), q0 = Unsafe.Add(ref cf, 3);
        Vector512<double> c1 = Unsafe.Add(ref cf, 4), b1 = Unsafe.Add(ref cf, 5), p1 = Unsafe.Add(ref cf, 6), q1 = Unsafe.Add(ref cf, 7);
        Vector512<double> u0 = st, v0 = Unsafe.Add(ref st, 1);
        Vector512<double> u1 = Unsafe.Add(ref st, 2), v1 = Unsafe.Add(ref st, 3);
        for (int i = 0; i < n; i++)
        {
            Vector512<double> x = Unsafe.Add(ref from, i);
            Vector512<double> y = x + u0;
            u0 = TForm.S1(x, y, c0, p0, v0);
            v0 = TForm.S2(x, y, b0, q0);
            x = y;
            y = x + u1;
            u1 = TForm.S1(x, y, c1, p1, v1);
            v1 = TForm.S2(x, y, b1, q1);
            Unsafe.Add(ref to, i) = y;
        }
        st = u0;
        Unsafe.Add(ref st, 1) = v0;
        Unsafe.Add(ref st, 2) = u1;
        Unsafe.Add(ref st, 3) = v1;
    }

    private static void Run1<TForm>(ref Vector512<double> from, ref Vector512<double> to, int n, ref Vector512<double> cf, ref Vector512<double> st)
        where TForm : struct, INumeratorForm
    {
        Vector512<double> c0 = cf, b0 = Unsafe.Add(ref cf, 1), p0 = Unsafe.Add(ref cf, 2), q0 = Unsafe.Add(ref cf, 3);
        Vector512<double> u0 = st, v0 = Unsafe.Add(ref st, 1);
        for (int i = 0; i < n; i++)
        {
            Vector512<double> x = Unsafe.Add(ref from, i);
            Vector512<double> y = x + u0;
            u0 = TForm.S1(x, y, c0, p0, v0);
            v0 = TForm.S2(x, y, b0, q0);
            Unsafe.Add(ref to, i) = y;
        }
        st = u0;
        Unsafe.Add(ref st, 1) = v0;
    }
}
