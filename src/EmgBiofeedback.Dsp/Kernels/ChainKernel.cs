using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmgBiofeedback.Dsp.Kernels;

/// <summary>Which implementation runs the per-sample loop.</summary>
internal enum ChainKernelKind
{
    /// <summary>The vector kernel where the hardware accelerates 256- or 512-bit vectors, else the scalar one.</summary>
    Auto,

    /// <summary>One channel at a time, one sample at a time; the reference the vector kernel is tested against.</summary>
    Scalar,

    /// <summary>Eight channels in one <see cref="Vector512{T}"/> of doubles per sample instant.</summary>
    Vector,
}

/// <summary>
/// The per-sample loop: counts -> µV, band-pass, notches, rectification, sums of squares, min/max, linear envelope.
/// Both implementations perform the same floating-point operations in the same order (fused multiply-adds
/// included), so their results are bit-identical; the tests hold them to that.
/// </summary>
internal abstract class ChainKernel
{
    /// <summary>Most sample instants one <see cref="Process(ReadOnlySpan{ushort}, int, int, int, Span{double})"/> call takes.</summary>
    public const int MaxChunk = 256;

    /// <summary>Quantities per window in <see cref="WindowValues"/>, in this order.</summary>
    public const int Squares = 0, Band = 1, Removed = 2, Min = 3, Max = 4, Linear = 5, WindowQuantities = 6;

    protected ChainKernel(SignalChainDesign design, int paddedChannels)
    {
        PaddedChannels = paddedChannels;
        Design = design;
        Channels = design.ChannelCount;
        SubBlock = design.SubBlockSamples;
        RingLength = design.RmsWindowSamples / SubBlock;
        SubBlocksPerOutput = design.DecimationFactor / SubBlock;
        MaxCompleted = (MaxChunk / SubBlock) + 1;
        Windows = new double[MaxCompleted * WindowQuantities * paddedChannels];
        Bp = design.BandPassCascade;
        Notch = design.NotchCascade;
        Lp = design.LinearEnvelopeCascade;
        NegNotchGain = -design.NotchGain;
        NotchGain = design.NotchGain;
        if (design.NotchComb is { } comb)
        {
            CombDelay = comb.Delay;
            CombA = comb.A;
        }
        Scale = new double[Channels];
        Bias = new double[Channels];
        for (int ch = 0; ch < Channels; ch++)
        {
            // The band-pass cascade's gain is folded into the unit conversion: the band-passed signal comes out in µV.
            Scale[ch] = design.MicrovoltsPerCount[ch] * Bp.Gain;
            Bias[ch] = -design.AdcOffsetCounts[ch] * Scale[ch];
        }
    }

    protected SignalChainDesign Design { get; }

    /// <summary>
    /// Window results of the last <see cref="Process(ReadOnlySpan{ushort}, int, int, int, Span{double})"/> call, [(output * 6 + quantity) * padded channels + channel]:
    /// sums over the RMS window, summed afresh from its sub-blocks, oldest first. Squares are of the notched signal
    /// before the notch cascade's gain; band and removed are in µV²; min and max in raw counts; the linear envelope is
    /// the low-pass output at the window's last instant, before its gain.
    /// </summary>
    protected double[] Windows { get; }

    protected int PaddedChannels { get; }

    protected int Channels { get; }

    protected int SubBlock { get; }

    /// <summary>Sub-blocks per RMS window: the ring of partial sums.</summary>
    protected int RingLength { get; }

    /// <summary>Sub-blocks per output period.</summary>
    protected int SubBlocksPerOutput { get; }

    protected int MaxCompleted { get; }

    protected NormalizedCascade Bp { get; }

    protected NormalizedCascade Notch { get; }

    protected NormalizedCascade Lp { get; }

    protected double NegNotchGain { get; }

    protected double NotchGain { get; }

    /// <summary>The comb's lag N (0 when the notch stage is sections): normalised, w[n] = (x[n] - x[n-N]) + A w[n-N].</summary>
    protected int CombDelay { get; }

    protected double CombA { get; }

    protected double[] Scale { get; }

    protected double[] Bias { get; }

    public static ChainKernel Create(SignalChainDesign design, ChainKernelKind kind) => design.WideCounts ? new ScalarChainKernel(design) : kind switch
    {
        ChainKernelKind.Scalar => new ScalarChainKernel(design),
        ChainKernelKind.Vector => new VectorChainKernel(design),
        _ => Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated
            ? new VectorChainKernel(design)
            : new ScalarChainKernel(design),
    };

    /// <summary>
    /// Runs <paramref name="frames"/> (at most <see cref="MaxChunk"/>) sample instants. The first sub-block ends after
    /// <paramref name="toBoundary"/> instants (1..sub-block length), later ones every sub-block length; completed
    /// sub-block <paramref name="firstOutput"/> (0-based in this call) and every <see cref="SubBlocksPerOutput"/>th after
    /// it end an output period. Returns how many outputs the call reached; <see cref="WindowValues"/> gives their sums.
    /// </summary>
    public abstract int Process(ReadOnlySpan<ushort> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered);

    /// <summary>As the 16-bit <see cref="Process(ReadOnlySpan{ushort}, int, int, int, Span{double})"/>, for 32-bit counts
    /// (a recording whose digital range does not fit 16 bits); only the scalar kernel takes them.</summary>
    public abstract int Process(ReadOnlySpan<int> counts, int frames, int toBoundary, int firstOutput, Span<double> filtered);

    /// <summary>One quantity of output <paramref name="output"/> of the last <see cref="Process(ReadOnlySpan{ushort}, int, int, int, Span{double})"/> call, one value per channel.</summary>
    public ReadOnlySpan<double> WindowValues(int output, int quantity) =>
        new(Windows, ((output * WindowQuantities) + quantity) * PaddedChannels, Channels);

    /// <summary>All quantities of output <paramref name="output"/>: [quantity * <see cref="Stride"/> + channel], padding included.</summary>
    public ReadOnlySpan<double> WindowBlock(int output) =>
        new(Windows, output * WindowQuantities * PaddedChannels, WindowQuantities * PaddedChannels);

    /// <summary>Channels rounded up to a whole number of vectors: the stride of <see cref="WindowBlock"/>.</summary>
    public int Stride => PaddedChannels;

    /// <summary>Clears filter states, partial sums and the window: the start of a new contiguous stretch of samples.</summary>
    public abstract void Reset();

    public static int CompletedIn(int frames, int toBoundary, int subBlock) =>
        frames >= toBoundary ? 1 + ((frames - toBoundary) / subBlock) : 0;
}

/// <summary>
/// How a section's numerator enters its states, in transposed direct form II with numerator [1, c, b2]:
/// y = x + s1; s1 = c x - a1 y + s2; s2 = b2 x - a2 y. The forms skip the multiplications their numerator makes trivial.
/// </summary>
internal interface INumeratorForm
{
    static abstract Vector512<double> S1(Vector512<double> x, Vector512<double> y, Vector512<double> c, Vector512<double> negA1, Vector512<double> s2);

    static abstract Vector512<double> S2(Vector512<double> x, Vector512<double> y, Vector512<double> b2, Vector512<double> negA2);

    static abstract double S1(double x, double y, double c, double negA1, double s2);

    static abstract double S2(double x, double y, double b2, double negA2);
}

/// <summary>Numerator [1, c, 1]: s2 = x - a2 y.</summary>
internal readonly struct SymmetricNumerator : INumeratorForm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S1(Vector512<double> x, Vector512<double> y, Vector512<double> c, Vector512<double> negA1, Vector512<double> s2) =>
        Vector512.FusedMultiplyAdd(negA1, y, Vector512.FusedMultiplyAdd(c, x, s2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S2(Vector512<double> x, Vector512<double> y, Vector512<double> b2, Vector512<double> negA2) =>
        Vector512.FusedMultiplyAdd(negA2, y, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S1(double x, double y, double c, double negA1, double s2) =>
        Math.FusedMultiplyAdd(negA1, y, Math.FusedMultiplyAdd(c, x, s2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S2(double x, double y, double b2, double negA2) => Math.FusedMultiplyAdd(negA2, y, x);
}

/// <summary>Numerator [1, c, b2]: s2 = b2 x - a2 y; s1 as in <see cref="SymmetricNumerator"/>.</summary>
internal readonly struct GeneralNumerator : INumeratorForm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S1(Vector512<double> x, Vector512<double> y, Vector512<double> c, Vector512<double> negA1, Vector512<double> s2) =>
        SymmetricNumerator.S1(x, y, c, negA1, s2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S2(Vector512<double> x, Vector512<double> y, Vector512<double> b2, Vector512<double> negA2) =>
        Vector512.FusedMultiplyAdd(negA2, y, b2 * x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S1(double x, double y, double c, double negA1, double s2) => SymmetricNumerator.S1(x, y, c, negA1, s2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S2(double x, double y, double b2, double negA2) => Math.FusedMultiplyAdd(negA2, y, b2 * x);
}

/// <summary>Numerator [1, 0, -1]: s1 = s2 - a1 y; s2 = -x - a2 y.</summary>
internal readonly struct BandPassNumerator : INumeratorForm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S1(Vector512<double> x, Vector512<double> y, Vector512<double> c, Vector512<double> negA1, Vector512<double> s2) =>
        Vector512.FusedMultiplyAdd(negA1, y, s2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> S2(Vector512<double> x, Vector512<double> y, Vector512<double> b2, Vector512<double> negA2) =>
        Vector512.FusedMultiplyAdd(negA2, y, -x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S1(double x, double y, double c, double negA1, double s2) => Math.FusedMultiplyAdd(negA1, y, s2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double S2(double x, double y, double b2, double negA2) => Math.FusedMultiplyAdd(negA2, y, -x);
}
