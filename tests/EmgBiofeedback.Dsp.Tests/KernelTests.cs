using CsCheck;
using EmgBiofeedback.Dsp.Kernels;
using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>The vector kernel against the scalar one, and the chain's independence from how the stream is cut into blocks.</summary>
public sealed class KernelTests
{
    public static TheoryData<int, bool, bool, int, MainsNotchDesign> Configurations => new()
    {
        { 1, false, true, 2, MainsNotchDesign.Comb },
        { 3, true, true, 2, MainsNotchDesign.Comb },
        { 8, true, true, 2, MainsNotchDesign.Comb },
        { 8, true, false, 3, MainsNotchDesign.Comb },  // odd low-pass order: a first-order section, the general numerator form
        { 13, true, true, 1, MainsNotchDesign.Comb },
        { 16, false, true, 4, MainsNotchDesign.Comb },
        { 1, false, true, 2, MainsNotchDesign.PerHarmonic },
        { 8, true, true, 2, MainsNotchDesign.PerHarmonic },
        { 8, true, false, 3, MainsNotchDesign.PerHarmonic },
        { 13, true, true, 1, MainsNotchDesign.PerHarmonic },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Vector_kernel_reproduces_the_scalar_kernel_bit_for_bit(int channels, bool linear, bool notch, int linearOrder, MainsNotchDesign notchDesign)
    {
        var options = new SignalChainOptions { MainsNotch = { Design = notchDesign } };
        options.LinearEnvelope.Enabled = linear;
        options.LinearEnvelope.Order = linearOrder;
        options.MainsNotch.Enabled = notch;
        var design = new SignalChainDesign(options, 1000, channels, 10, 5000);
        ushort[] counts = SyntheticEmg.Generate(seed: channels, 1000, channels, 7000, 10, humCounts: 40);

        var scalar = new SignalChain(design, ChainKernelKind.Scalar);
        var vector = new SignalChain(design, ChainKernelKind.Vector);
        Assert.Equal(ChainKernelKind.Vector, vector.KernelKind);
        (EnvelopeSample[] so, double[] sf) = ChainRunner.Run(scalar, counts, 500);
        (EnvelopeSample[] vo, double[] vf) = ChainRunner.Run(vector, counts, 500);

        Assert.Equal(sf, vf);
        Assert.Equal(so, vo);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    public void Vector_kernel_reproduces_the_scalar_kernel_bit_for_bit_at_other_band_pass_orders(int order)
    {
        var design = new SignalChainDesign(new SignalChainOptions { BandPass = { Order = order } }, 1000, 8, 10, 5000);
        ushort[] counts = SyntheticEmg.Generate(seed: order, 1000, 8, 5000, 10, humCounts: 40);

        (EnvelopeSample[] so, double[] sf) = ChainRunner.Run(new SignalChain(design, ChainKernelKind.Scalar), counts, 300);
        (EnvelopeSample[] vo, double[] vf) = ChainRunner.Run(new SignalChain(design, ChainKernelKind.Vector), counts, 300);

        Assert.Equal(sf, vf);
        Assert.Equal(so, vo);
    }

    [Theory]
    [InlineData(57, 50)]   // sub-blocks of one instant: every instant closes one
    [InlineData(100, 1000)] // an output at every instant
    [InlineData(250, 40)]  // sub-blocks of 25 instants, ten to a window
    public void Vector_kernel_reproduces_the_scalar_kernel_bit_for_bit_at_other_windows_and_output_rates(double windowMs, double outputRateHz)
    {
        var options = new SignalChainOptions { OutputRateHz = outputRateHz, RmsEnvelope = { WindowMs = windowMs } };
        var design = new SignalChainDesign(options, 1000, 8, 10, 5000);
        ushort[] counts = SyntheticEmg.Generate(seed: 11, 1000, 8, 3000, 10, humCounts: 40);

        (EnvelopeSample[] so, double[] sf) = ChainRunner.Run(new SignalChain(design, ChainKernelKind.Scalar), counts, 333);
        (EnvelopeSample[] vo, double[] vf) = ChainRunner.Run(new SignalChain(design, ChainKernelKind.Vector), counts, 333);

        Assert.True(so.Length >= 3000 / design.DecimationFactor * 8 - 8, $"{so.Length} outputs");
        Assert.Equal(sf, vf);
        Assert.Equal(so, vo);
    }

    [Theory]
    [InlineData(8, 100, 50)]
    [InlineData(8, 57, 50)]
    [InlineData(8, 250, 40)]
    [InlineData(16, 100, 50)]
    [InlineData(5, 100, 50)]
    public void Every_window_sum_and_count_range_of_the_vector_kernel_equals_the_scalar_kernels(int channels, double windowMs, double outputRateHz)
    {
        // Below the envelope samples: the sums of squares, the mains sums and the raw counts' min and max per window,
        // which the samples only show through thresholds (flatline, clipping).
        var options = new SignalChainOptions { OutputRateHz = outputRateHz, RmsEnvelope = { WindowMs = windowMs } };
        var design = new SignalChainDesign(options, 1000, channels, 10, 5000);
        ushort[] counts = SyntheticEmg.Generate(seed: 5, 1000, channels, 3000, 10, humCounts: 40);

        List<double[]> scalar = KernelWindows(ChainKernel.Create(design, ChainKernelKind.Scalar), design, counts);
        List<double[]> vector = KernelWindows(ChainKernel.Create(design, ChainKernelKind.Vector), design, counts);

        Assert.True(scalar.Count >= 3000 / design.DecimationFactor - 1, $"{scalar.Count} windows");
        Assert.Equal(scalar.Count, vector.Count);
        for (int w = 0; w < scalar.Count; w++)
        {
            Assert.Equal(scalar[w], vector[w]);
        }
    }

    // Drives a kernel the way SignalChain does, chunk by chunk, and keeps every window's quantities.
    private static List<double[]> KernelWindows(ChainKernel kernel, SignalChainDesign design, ushort[] counts)
    {
        int channels = design.ChannelCount;
        int frames = counts.Length / channels;
        int subBlock = design.SubBlockSamples;
        int decimation = design.DecimationFactor;
        var windows = new List<double[]>();
        long next = 0;
        while (next < frames)
        {
            int n = (int)Math.Min(frames - next, ChainKernel.MaxChunk - (next % 7)); // uneven chunks
            int toBoundary = subBlock - (int)(next % subBlock);
            int firstOutput = (int)((decimation - ((next + toBoundary) % decimation)) % decimation) / subBlock;
            int outputs = kernel.Process(counts.AsSpan((int)next * channels, n * channels), n, toBoundary, firstOutput, []);
            for (int o = 0; o < outputs; o++)
            {
                var values = new List<double>();
                for (int q = 0; q < ChainKernel.WindowQuantities; q++)
                {
                    values.AddRange(kernel.WindowValues(o, q).ToArray());
                }
                windows.Add([.. values]);
            }
            next += n;
        }
        return windows;
    }

    [Fact]
    public void Scalar_and_vector_kernels_agree_bit_for_bit_on_streams_cut_at_random_places_with_gaps()
    {
        Gen.Select(Gen.Int[0, 2].Select(i => 500.0 * (1 << i)), Gen.Int[1, 3].Select(i => 8 * i), Gen.Bool, Gen.Int[1, 600].Array[1, 12], Gen.Int[1, 2999].Array[0, 3])
            .Sample(t =>
            {
                (double fs, int channels, bool linear, int[] cuts, int[] gapsAt) = t;
                var design = new SignalChainDesign(new SignalChainOptions { LinearEnvelope = { Enabled = linear } }, fs, channels, 10, 5000);
                ushort[] counts = SyntheticEmg.Generate(seed: cuts[0], fs, channels, 3000, 10, humCounts: 40);
                (List<EnvelopeSample> so, double[] sf) = RunWithGaps(new SignalChain(design, ChainKernelKind.Scalar), counts, cuts, gapsAt);
                (List<EnvelopeSample> vo, double[] vf) = RunWithGaps(new SignalChain(design, ChainKernelKind.Vector), counts, cuts, gapsAt);

                Assert.Equal(sf, vf);
                Assert.Equal(so, vo);
            }, iter: 40, seed: "0N0XIzNsQ0O3");
    }

    // Blocks of the given lengths in turn; a gap of 7 instants before the first block at or after each gap position.
    private static (List<EnvelopeSample> Outputs, double[] Filtered) RunWithGaps(SignalChain chain, ushort[] counts, int[] cuts, int[] gapsAt)
    {
        int channels = chain.ChannelCount;
        int frames = counts.Length / channels;
        var outputs = new List<EnvelopeSample>();
        var filtered = new double[counts.Length];
        var pending = new SortedSet<int>(gapsAt);
        int at = 0;
        for (int c = 0; at < frames; c++)
        {
            if (pending.Count > 0 && pending.Min <= at)
            {
                pending.Remove(pending.Min);
                chain.MarkGap(7);
            }
            int n = Math.Min(cuts[c % cuts.Length], frames - at);
            var buffer = new EnvelopeSample[chain.OutputCountFor(n)];
            int written = chain.Process(counts.AsSpan(at * channels, n * channels), buffer, filtered.AsSpan(at * channels, n * channels));
            outputs.AddRange(buffer.AsSpan(0, written));
            at += n;
        }
        return (outputs, filtered);
    }

    [Theory]
    [InlineData(5)] // a partial vector: the kernel's passes
    [InlineData(8)] // the default chain on eight channels: the kernel's one-pass path
    public void Outputs_do_not_depend_on_how_the_stream_is_cut_into_blocks(int channels)
    {
        var design = new SignalChainDesign(new SignalChainOptions { LinearEnvelope = { Enabled = channels == 5 } }, 1000, channels, 12, 3300);
        ushort[] counts = SyntheticEmg.Generate(seed: 3, 1000, channels, 4000, 12);
        (EnvelopeSample[] whole, double[] wholeFiltered) = ChainRunner.Run(new SignalChain(design, ChainKernelKind.Auto), counts, 4000);

        Gen.Int[1, 700].Array[1, 40].Sample(cuts =>
        {
            var chain = new SignalChain(design, ChainKernelKind.Auto);
            var outputs = new List<EnvelopeSample>();
            var filtered = new double[counts.Length];
            var buffer = new EnvelopeSample[chain.OutputCountFor(4000)];
            int at = 0;
            int c = 0;
            while (at < 4000)
            {
                int n = Math.Min(cuts[c++ % cuts.Length], 4000 - at);
                int expected = chain.OutputCountFor(n);
                int written = chain.Process(counts.AsSpan(at * channels, n * channels), buffer, filtered.AsSpan(at * channels, n * channels));
                Assert.Equal(expected, written);
                outputs.AddRange(buffer.AsSpan(0, written));
                at += n;
            }
            Assert.Equal(whole, outputs);
            Assert.Equal(wholeFiltered, filtered);
        }, iter: 40, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Process_rejects_partial_frames_and_too_small_output_spans_before_touching_state()
    {
        var chain = new SignalChain(new SignalChainOptions(), 1000, 4, 10, 5000);
        var counts = new ushort[4 * 100];

        Assert.Throws<ArgumentException>(() => chain.Process(counts.AsSpan(0, 7), new EnvelopeSample[40]));
        Assert.Throws<ArgumentException>(() => chain.Process(counts, new EnvelopeSample[19]));
        Assert.Equal(0, chain.NextSampleIndex);
        Assert.Equal(20, chain.Process(counts, new EnvelopeSample[20]));
        Assert.Equal(100, chain.NextSampleIndex);
    }
}
