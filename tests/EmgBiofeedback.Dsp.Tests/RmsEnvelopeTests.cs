using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>The sliding RMS: exact window sums with no drift, at the documented instants.</summary>
public sealed class RmsEnvelopeTests
{
    [Fact]
    public void Sliding_RMS_stays_exact_over_ten_million_samples_from_loud_to_quiet()
    {
        // A running add/subtract sum would carry the rounding error of the loud half (squares ~1e12 µV²) into the
        // quiet half (squares ~1 µV²), a relative error of order 0.1 there. Block sums in a ring carry none.
        const int Total = 10_000_000;
        const int Block = 10_000;
        var options = new SignalChainOptions { SensorGain = 1000 };
        var chain = new SignalChain(options, 1000, 1, 16, 3300);
        int window = chain.Design.RmsWindowSamples;
        int decimation = chain.Design.DecimationFactor;

        var random = new Random(20240611);
        var counts = new ushort[Block];
        var filtered = new double[Block];
        var outputs = new EnvelopeSample[chain.OutputCountFor(Block) + 1];
        var recent = new double[window];
        long index = 0;
        double worstQuiet = 0, worstLoud = 0;
        int compared = 0;
        for (int start = 0; start < Total; start += Block)
        {
            bool loud = start < Total / 2;
            for (int i = 0; i < Block; i++)
            {
                double amplitude = loud ? 30_000 : 2;
                counts[i] = (ushort)Math.Clamp(Math.Round(32768 + (amplitude * SyntheticEmg.Gaussian(random))), 0, 65535);
            }
            int written = chain.Process(counts, outputs, filtered);
            int o = 0;
            for (int i = 0; i < Block; i++, index++)
            {
                recent[index % window] = filtered[i];
                if ((index + 1) % decimation != 0)
                {
                    continue;
                }
                EnvelopeSample output = outputs[o++];
                Assert.Equal(index, output.SampleIndex);
                double direct = 0;
                for (int k = 0; k < window; k++)
                {
                    direct += recent[k] * recent[k];
                }
                direct = Math.Sqrt(direct / window);
                double relative = Math.Abs(output.RmsMicrovolts - direct) / direct;
                if (loud)
                {
                    worstLoud = Math.Max(worstLoud, relative);
                }
                else
                {
                    worstQuiet = Math.Max(worstQuiet, relative);
                }
                compared++;
            }
            Assert.Equal(written, o);
        }

        Assert.Equal(Total / decimation, compared);
        Assert.True(worstLoud < 1e-12, $"loud half: worst relative error {worstLoud:G3}");
        Assert.True(worstQuiet < 1e-12, $"quiet half after 5 million loud samples: worst relative error {worstQuiet:G3}");
    }

    [Fact]
    public void Outputs_come_every_decimation_period_at_the_last_instant_of_their_window()
    {
        var chain = new SignalChain(new SignalChainOptions(), 1000, 2, 10, 5000);
        var outputs = new EnvelopeSample[100];

        int written = chain.Process(new ushort[2 * 59], outputs);
        Assert.Equal(4, written); // instants 19 and 39, two channels each
        Assert.Equal([19L, 19L, 39L, 39L], outputs.Take(4).Select(o => o.SampleIndex));
        Assert.Equal([0, 1, 0, 1], outputs.Take(4).Select(o => (int)o.Channel));

        written = chain.Process(new ushort[2 * 1], outputs);
        Assert.Equal(2, written); // instant 59 completes the third period
        Assert.Equal(59L, outputs[0].SampleIndex);
    }

    [Fact]
    public void A_sine_of_known_amplitude_gives_its_RMS_in_microvolts_at_the_electrodes()
    {
        // 130 Hz (in the pass-band, between two mains harmonics), 200 counts peak, 12-bit, 3.3 V, gain 200:
        // 200 * 3300 mV / 4096 / 200 * 1000 = 805.66 µV peak, 569.68 µV RMS.
        var options = new SignalChainOptions();
        var chain = new SignalChain(options, 1000, 1, 12, 3300);
        var counts = new ushort[5000];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = (ushort)Math.Round(2048 + (200 * Math.Sin(2 * Math.PI * 130 * i / 1000.0)));
        }
        (EnvelopeSample[] outputs, _) = ChainRunner.Run(chain, counts, 1000);

        double expected = 200 * 3300.0 / 4096 / 200 * 1000 / Math.Sqrt(2);
        double gain = SignalChainDesign.Response(chain.Design.BandPassSections, 130, 1000).Magnitude
            * chain.Design.NotchResponse(130).Magnitude;
        foreach (EnvelopeSample o in outputs.Where(o => o.IsValid))
        {
            Assert.Equal(expected * gain, o.RmsMicrovolts, expected * 0.01); // rounding of the counts: < 1 %
        }
        Assert.InRange(gain, 0.98, 1.0);
    }
}
