using EmgBiofeedback.Dsp.Tests.Support;
using Xunit.Abstractions;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>The chain against SciPy (butter/iirnotch/sosfilt, windows summed directly), computed at test time.</summary>
public sealed class ScipyAgreementTests(ITestOutputHelper log)
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("emg.txt")]
    [InlineData("emg_1.txt")]
    public void Filtered_signal_and_envelopes_of_the_BioSPPy_recordings_match_SciPy(string fileName)
    {
        ushort[] counts = Recordings.Load(fileName);
        var options = new SignalChainOptions { SensorGain = Recordings.SensorGain };
        options.LinearEnvelope.Enabled = true;

        AssertMatchesScipy(options, Recordings.SampleRateHz, 1, Recordings.AdcBits, Recordings.ReferenceMillivolts, counts, blockFrames: 37);
    }

    [Theory]
    [InlineData(500.0, 8, 10)]
    [InlineData(1000.0, 8, 10)]
    [InlineData(2000.0, 8, 12)]
    [InlineData(4000.0, 8, 12)]
    [InlineData(1000.0, 3, 10)]
    [InlineData(1000.0, 13, 12)]
    public void Synthetic_multichannel_signals_match_SciPy_at_every_rate(double sampleRateHz, int channels, int adcBits)
    {
        ushort[] counts = SyntheticEmg.Generate(seed: (int)sampleRateHz + channels, sampleRateHz, channels, frames: (int)(8 * sampleRateHz), adcBits);
        var options = new SignalChainOptions();
        options.LinearEnvelope.Enabled = true;
        options.Channels.Add(new ChannelOptions { SensorGain = 500, AdcOffsetCounts = 500 });

        AssertMatchesScipy(options, sampleRateHz, channels, adcBits, 5000, counts, blockFrames: 1000);
    }

    [Fact]
    public void Non_default_settings_match_SciPy_too()
    {
        ushort[] counts = SyntheticEmg.Generate(seed: 7, 1000, 8, 6000, 10, mainsHz: 60);
        var options = new SignalChainOptions { OutputRateHz = 40, SensorGain = 1000 };
        options.BandPass.LowHz = 10;
        options.BandPass.HighHz = 400;
        options.BandPass.Order = 3;
        options.MainsNotch.FrequencyHz = 60;
        options.MainsNotch.QualityFactor = 15;
        options.MainsNotch.Harmonics = 3;
        options.RmsEnvelope.WindowMs = 250;
        options.LinearEnvelope.Enabled = true;
        options.LinearEnvelope.CutoffHz = 3;
        options.LinearEnvelope.Order = 3;

        AssertMatchesScipy(options, 1000, 8, 10, 5000, counts, blockFrames: 333);
    }

    [Theory]
    [InlineData(1000.0, 1.0, 8)] // the lowest corner and the highest order the settings allow
    [InlineData(4000.0, 5.0, 6)]
    public void Band_passes_with_a_low_corner_far_below_the_rate_match_SciPy_too(double sampleRateHz, double lowHz, int order)
    {
        // Where re-pairing the zeros as [1, 0, -1] would amplify round-off (to ~6e-4 of the signal here), the chain
        // runs the band-pass as designed.
        ushort[] counts = SyntheticEmg.Generate(seed: 9, sampleRateHz, 8, (int)(8 * sampleRateHz), 10);
        var options = new SignalChainOptions { BandPass = { LowHz = lowHz, Order = order } };

        AssertMatchesScipy(options, sampleRateHz, 8, 10, 5000, counts, blockFrames: 1000);
    }

    [Theory]
    [InlineData(MainsNotchDesign.PerHarmonic, true)]
    [InlineData(MainsNotchDesign.PerHarmonic, false)]
    [InlineData(MainsNotchDesign.Comb, false)]
    public void Both_notch_designs_match_SciPy_with_the_notch_on_and_off(MainsNotchDesign design, bool notchOn)
    {
        ushort[] counts = SyntheticEmg.Generate(seed: 13, 1000, 8, 6000, 10, humCounts: 30);
        var options = new SignalChainOptions { MainsNotch = { Design = design, Enabled = notchOn } };
        options.LinearEnvelope.Enabled = true;

        AssertMatchesScipy(options, 1000, 8, 10, 5000, counts, blockFrames: 250);
    }

    [Fact]
    public void With_the_notch_disabled_the_envelope_follows_the_band_passed_signal_as_in_SciPy()
    {
        ushort[] counts = SyntheticEmg.Generate(seed: 11, 1000, 8, 5000, 10, humCounts: 30);
        var options = new SignalChainOptions();
        options.MainsNotch.Enabled = false;
        options.LinearEnvelope.Enabled = true;

        AssertMatchesScipy(options, 1000, 8, 10, 5000, counts, blockFrames: 64);
    }

    private void AssertMatchesScipy(SignalChainOptions options, double fs, int channels, int bits, double vref, ushort[] counts, int blockFrames)
    {
        var chain = new SignalChain(options, fs, channels, bits, vref);
        (EnvelopeSample[] outputs, double[] filtered) = ChainRunner.Run(chain, counts, blockFrames);

        using var scipy = new ScipyReference();
        ScipyChainResult reference = scipy.Chain(ScipyReference.ChainParameters(options, fs, channels, bits, vref), counts);

        Assert.Equal(reference.Filtered.Length, filtered.Length);
        Assert.Equal(reference.Rms.Length, outputs.Length);

        int decimation = chain.Design.DecimationFactor;
        double worstFiltered = 0, worstRms = 0;
        for (int ch = 0; ch < channels; ch++)
        {
            double signalRms = ChainRunner.ChannelRms(reference.Filtered, channels, ch);
            double worst = 0;
            for (int i = ch; i < filtered.Length; i += channels)
            {
                worst = Math.Max(worst, Math.Abs(filtered[i] - reference.Filtered[i]));
            }
            worstFiltered = Math.Max(worstFiltered, worst / signalRms);
            Assert.True(worst <= Tolerance * signalRms,
                $"channel {ch}: filtered signal differs from SciPy's sosfilt by {worst:G3} µV, more than {Tolerance} x its RMS {signalRms:G4} µV");

            double linearScale = ChainRunner.ChannelRms(reference.Linear, channels, ch);
            for (int k = ch; k < outputs.Length; k += channels)
            {
                EnvelopeSample o = outputs[k];
                Assert.Equal(ch, o.Channel);
                Assert.Equal(((k / channels) + 1L) * decimation - 1, o.SampleIndex);
                double r = reference.Rms[k];
                worstRms = Math.Max(worstRms, r > 0 ? Math.Abs(o.RmsMicrovolts - r) / r : 0);
                Assert.True(Math.Abs(o.RmsMicrovolts - r) <= Tolerance * r,
                    $"channel {ch}, output {k / channels}: RMS {o.RmsMicrovolts:G8} µV vs SciPy {r:G8} µV");
                Assert.True(Math.Abs(o.MainsRatio - reference.Mains[k]) <= Tolerance,
                    $"channel {ch}, output {k / channels}: mains ratio {o.MainsRatio:G6} vs SciPy {reference.Mains[k]:G6}");
                if (options.LinearEnvelope.Enabled)
                {
                    Assert.True(Math.Abs(o.LinearEnvelopeMicrovolts - reference.Linear[k]) <= Tolerance * linearScale,
                        $"channel {ch}, output {k / channels}: linear envelope {o.LinearEnvelopeMicrovolts:G8} vs SciPy {reference.Linear[k]:G8}");
                }
                else
                {
                    Assert.True(double.IsNaN(o.LinearEnvelopeMicrovolts));
                }
            }
        }
        log.WriteLine($"worst filtered error {worstFiltered:G3} x signal RMS; worst RMS envelope error {worstRms:G3} relative");
    }
}
