using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>Electrode off / flatline, clipping, mains contamination and baseline noise, each shown rather than hidden.</summary>
public sealed class SignalQualityTests
{
    // 12-bit, 3.3 V, gain 1000: 0.806 µV per count, fine enough to make microvolt-level noise.
    private const int Bits = 12;
    private const double Vref = 3300;
    private static readonly double MicrovoltsPerCount = Vref * 1000 / 4096 / 1000;

    [Fact]
    public void A_flat_signal_is_flagged_as_flatline_and_a_live_one_is_not()
    {
        var counts = new ushort[3 * 4000];
        for (int i = 0; i < 4000; i++)
        {
            counts[3 * i] = 2048;                                     // unplugged: constant
            counts[(3 * i) + 1] = (ushort)(2048 + (i / 7 % 2));       // one count of dither only
            counts[(3 * i) + 2] = (ushort)(2048 + Math.Round(6 * Math.Sin(i * 0.9) + (4 * Math.Sin(i * 2.3))));
        }
        EnvelopeSample[] outputs = Run(new SignalChainOptions { SensorGain = 1000 }, counts, 3);

        Assert.All(Channel(outputs, 0), o => Assert.True(o.Quality.HasFlag(SignalQualityFlags.Flatline)));
        Assert.All(Channel(outputs, 1), o => Assert.True(o.Quality.HasFlag(SignalQualityFlags.Flatline)));
        Assert.All(Channel(outputs, 2), o => Assert.False(o.Quality.HasFlag(SignalQualityFlags.Flatline)));
        Assert.All(Channel(outputs, 0).Where(o => o.IsValid), o => Assert.Equal(0, o.RmsMicrovolts));
    }

    [Fact]
    public void Counts_at_either_ADC_rail_are_flagged_as_clipping()
    {
        var random = new Random(9);
        var counts = new ushort[2 * 6000];
        for (int i = 0; i < 6000; i++)
        {
            double emg = 300 * SyntheticEmg.Gaussian(random);
            counts[2 * i] = (ushort)Math.Clamp(Math.Round(2048 + emg), 0, 4095);
            // Channel 1 is driven into both rails during 2-3 s and stays in range otherwise.
            double gain = i is >= 2000 and < 3000 ? 10 : 1;
            counts[(2 * i) + 1] = (ushort)Math.Clamp(Math.Round(2048 + (gain * emg)), 0, 4095);
        }
        EnvelopeSample[] outputs = Run(new SignalChainOptions { SensorGain = 1000 }, counts, 2);

        Assert.All(Channel(outputs, 0), o => Assert.False(o.Quality.HasFlag(SignalQualityFlags.Clipping)));
        foreach (EnvelopeSample o in Channel(outputs, 1))
        {
            // The window ending at SampleIndex covers the 100 instants up to it.
            bool windowTouchesLoudPart = o.SampleIndex >= 2000 && o.SampleIndex - 99 < 3000;
            Assert.Equal(windowTouchesLoudPart, o.Quality.HasFlag(SignalQualityFlags.Clipping));
        }
    }

    [Theory]
    [InlineData(50.0)]
    [InlineData(60.0)]
    public void Strong_mains_hum_is_flagged_and_measured_as_most_of_the_band_power(double mainsHz)
    {
        var options = new SignalChainOptions { SensorGain = 1000, MainsNotch = { FrequencyHz = mainsHz } };
        var random = new Random(4);
        var counts = new ushort[2 * 8000];
        for (int i = 0; i < 8000; i++)
        {
            double emg = 10 * SyntheticEmg.Gaussian(random);
            double hum = 150 * Math.Sin(2 * Math.PI * mainsHz * i / 1000.0) + 40 * Math.Sin(2 * Math.PI * 3 * mainsHz * i / 1000.0);
            counts[2 * i] = (ushort)Math.Round(2048 + emg + hum);   // electrode with a poor contact: hum
            counts[(2 * i) + 1] = (ushort)Math.Round(2048 + emg);   // clean
        }
        EnvelopeSample[] outputs = Run(options, counts, 2);

        EnvelopeSample[] humming = Channel(outputs, 0).Where(o => o.IsValid).ToArray();
        EnvelopeSample[] clean = Channel(outputs, 1).Where(o => o.IsValid).ToArray();
        Assert.NotEmpty(humming);
        Assert.All(humming, o =>
        {
            Assert.True(o.Quality.HasFlag(SignalQualityFlags.MainsContamination));
            Assert.InRange(o.MainsRatio, 0.9f, 1.0f);
        });
        Assert.All(clean, o =>
        {
            Assert.False(o.Quality.HasFlag(SignalQualityFlags.MainsContamination));
            Assert.InRange(o.MainsRatio, 0f, 0.2f);
        });
        // The notch removes the hum from the envelope: both channels carry the same EMG.
        double ratio = humming.Average(o => o.RmsMicrovolts) / clean.Average(o => o.RmsMicrovolts);
        Assert.InRange(ratio, 0.9, 1.1);
    }

    [Fact]
    public void Baseline_noise_is_the_quiet_floor_between_contractions_and_flags_a_noisy_electrode()
    {
        var random = new Random(12);
        const int Frames = 12_000;
        var counts = new ushort[2 * Frames];
        double quietCounts = 5.0, noisyCounts = 40.0;
        for (int i = 0; i < Frames; i++)
        {
            bool contraction = i % 3000 is >= 1000 and < 2000;
            double burst = contraction ? 25 : 1;
            counts[2 * i] = (ushort)Math.Round(2048 + (quietCounts * burst * SyntheticEmg.Gaussian(random)));
            counts[(2 * i) + 1] = (ushort)Math.Round(2048 + (noisyCounts * SyntheticEmg.Gaussian(random)));
        }
        EnvelopeSample[] outputs = Run(new SignalChainOptions { SensorGain = 1000 }, counts, 2);

        // White noise keeps about (450 - 20) / 500 of its power through the band-pass, a little less through the notches.
        double quietRms = quietCounts * MicrovoltsPerCount * Math.Sqrt(430.0 / 500);
        EnvelopeSample[] quiet = Channel(outputs, 0).Where(o => o.IsValid && o.SampleIndex > 4000).ToArray();
        Assert.All(quiet, o =>
        {
            Assert.InRange(o.BaselineNoiseMicrovolts, 0.6 * quietRms, 1.05 * quietRms);
            Assert.False(o.Quality.HasFlag(SignalQualityFlags.NoisyBaseline));
        });
        Assert.Contains(Channel(outputs, 0), o => o.RmsMicrovolts > 10 * quietRms); // the contractions stand out...
        // ...without lifting the floor.
        // The flag waits for a fifth of the baseline window (1 s) of valid RMS, so that a contraction at start-up does not raise it.
        EnvelopeSample[] noisy = Channel(outputs, 1).Where(o => o.IsValid).ToArray();
        long settledAt = noisy[0].SampleIndex + 1000;
        Assert.All(noisy, o => Assert.Equal(o.SampleIndex >= settledAt, o.Quality.HasFlag(SignalQualityFlags.NoisyBaseline)));
        Assert.True(float.IsNaN(Channel(outputs, 1).First().BaselineNoiseMicrovolts), "no baseline before the first valid RMS");
    }

    private static EnvelopeSample[] Run(SignalChainOptions options, ushort[] counts, int channels)
    {
        var chain = new SignalChain(options, 1000, channels, Bits, Vref);
        return ChainRunner.Run(chain, counts, 500).Outputs;
    }

    private static IEnumerable<EnvelopeSample> Channel(EnvelopeSample[] outputs, int channel) => outputs.Where(o => o.Channel == channel);
}
