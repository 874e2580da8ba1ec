using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>Lost sample instants: restart the filters, keep the time base, say when the envelope is trustworthy again.</summary>
public sealed class GapTests
{
    [Fact]
    public void After_a_gap_the_filters_restart_and_the_envelope_is_invalid_until_settled()
    {
        const int Before = 3000, Lost = 137, After = 5000, Channels = 3;
        var options = new SignalChainOptions { LinearEnvelope = { Enabled = true } };
        var design = new SignalChainDesign(options, 1000, Channels, 10, 5000);
        ushort[] first = SyntheticEmg.Generate(seed: 5, 1000, Channels, Before, 10, humCounts: 30);
        ushort[] second = SyntheticEmg.Generate(seed: 6, 1000, Channels, After, 10, humCounts: 30);

        var chain = new SignalChain(design, Kernels.ChainKernelKind.Auto);
        (EnvelopeSample[] beforeGap, _) = ChainRunner.Run(chain, first, 250);
        chain.MarkGap(Lost);
        Assert.Equal(Before + Lost, chain.NextSampleIndex);
        (EnvelopeSample[] afterGap, _) = ChainRunner.Run(chain, second, 250);

        // A fresh chain that starts at the same sample index sees only the post-gap data: same results.
        var fresh = new SignalChain(design, Kernels.ChainKernelKind.Auto);
        fresh.MarkGap(Before + Lost);
        (EnvelopeSample[] expected, _) = ChainRunner.Run(fresh, second, 250);

        Assert.Equal(expected.Length, afterGap.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].SampleIndex, afterGap[k].SampleIndex);
            Assert.Equal(expected[k].RmsMicrovolts, afterGap[k].RmsMicrovolts);
            Assert.Equal(expected[k].LinearEnvelopeMicrovolts, afterGap[k].LinearEnvelopeMicrovolts);
            Assert.Equal(expected[k].MainsRatio, afterGap[k].MainsRatio);
            Assert.Equal(expected[k].IsValid, afterGap[k].IsValid);
        }

        // The time base keeps counting the lost instants and stays on the output grid.
        int decimation = design.DecimationFactor;
        long firstIndexAfter = afterGap[0].SampleIndex;
        Assert.Equal(0, (firstIndexAfter + 1) % decimation);
        Assert.InRange(firstIndexAfter, Before + Lost, Before + Lost + decimation - 1);

        // Invalid exactly until the filters have settled and a full RMS window has followed.
        long validFrom = Before + Lost + design.SettlingSamples + design.RmsWindowSamples - 1;
        foreach (EnvelopeSample o in afterGap)
        {
            Assert.Equal(o.SampleIndex >= validFrom, o.IsValid);
        }
        Assert.Contains(beforeGap, o => o.IsValid);
        Assert.Contains(afterGap, o => o.IsValid);

        // The baseline history survives the gap (the electrode did not change); envelope state does not.
        Assert.False(float.IsNaN(afterGap[0].BaselineNoiseMicrovolts));
    }

    [Fact]
    public void The_envelope_settles_in_under_two_seconds_at_the_defaults()
    {
        SignalChainDesign design = new(new SignalChainOptions { LinearEnvelope = { Enabled = true } }, 1000, 1, 10, 5000);

        double seconds = (design.SettlingSamples + design.RmsWindowSamples) / 1000.0;
        Assert.InRange(seconds, 1.0, 2.0);
    }

    [Fact]
    public void Reset_starts_over_at_sample_zero_and_MarkGap_rejects_nonsense()
    {
        var chain = new SignalChain(new SignalChainOptions(), 1000, 1, 10, 5000);
        chain.Process(new ushort[500], new EnvelopeSample[25]);
        chain.MarkGap(10);
        Assert.Equal(510, chain.NextSampleIndex);

        chain.Reset();
        Assert.Equal(0, chain.NextSampleIndex);
        Assert.Throws<ArgumentOutOfRangeException>(() => chain.MarkGap(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => chain.MarkGap(-3));
    }
}
