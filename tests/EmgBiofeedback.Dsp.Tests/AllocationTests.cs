using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>The hot path allocates nothing once running.</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData(8, true)]
    [InlineData(8, false)]
    [InlineData(5, true)]
    [InlineData(1, true)]
    public void Processing_blocks_allocates_zero_bytes_in_steady_state(int channels, bool scalar)
    {
        var options = new SignalChainOptions();
        options.LinearEnvelope.Enabled = true;
        var design = new SignalChainDesign(options, 1000, channels, 10, 5000);
        var chain = new SignalChain(design, scalar ? Kernels.ChainKernelKind.Scalar : Kernels.ChainKernelKind.Vector);
        ushort[] counts = SyntheticEmg.Generate(seed: 1, 1000, channels, 2000, 10);
        var outputs = new EnvelopeSample[chain.OutputCountFor(2000) + channels];
        var filtered = new double[counts.Length];

        // Warm-up: every path once (tiered JIT compiles on other threads; nothing here should allocate at all).
        for (int i = 0; i < 3; i++)
        {
            chain.Process(counts, outputs);
            chain.Process(counts, outputs, filtered);
            chain.MarkGap(7);
        }
        chain.Reset();

        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int round = 0; round < 50; round++)
        {
            for (int at = 0; at < 2000; at += 100)
            {
                total += chain.Process(counts.AsSpan(at * channels, 100 * channels), outputs, filtered);
            }
            total += chain.Process(counts, outputs);
            if (round % 10 == 9)
            {
                chain.MarkGap(13);
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(total > 0);
    }
}
