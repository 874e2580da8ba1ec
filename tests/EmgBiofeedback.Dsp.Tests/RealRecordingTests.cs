using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>What a clinician would see on the BioSPPy recordings.</summary>
public sealed class RealRecordingTests
{
    [Fact]
    public void Activation_bursts_in_emg_1_stand_out_at_least_tenfold_over_the_quiet_baseline()
    {
        ushort[] counts = Recordings.Load("emg_1.txt");
        var chain = new SignalChain(new SignalChainOptions { SensorGain = Recordings.SensorGain }, Recordings.SampleRateHz, 1, Recordings.AdcBits, Recordings.ReferenceMillivolts);
        (EnvelopeSample[] outputs, _) = ChainRunner.Run(chain, counts, 20);

        double Seconds(EnvelopeSample o) => o.SampleIndex / Recordings.SampleRateHz;
        double[] quiet = outputs.Where(o => o.IsValid && (Seconds(o) is (>= 4 and < 14) or (>= 30 and < 35) or (>= 46 and < 63))).Select(o => o.RmsMicrovolts).Order().ToArray();
        double baseline = quiet[quiet.Length / 2];

        // The burst near 1.5 s falls inside the first settling time (outputs flagged invalid) but its RMS is still computed.
        foreach ((double from, double to) in new[] { (1.0, 2.0), (15.0, 17.0), (25.2, 25.9), (26.2, 26.9) })
        {
            double peak = outputs.Where(o => Seconds(o) >= from && Seconds(o) < to).Max(o => o.RmsMicrovolts);
            Assert.True(peak >= 10 * baseline, $"burst {from}-{to} s: peak RMS {peak:F1} µV vs quiet baseline {baseline:F1} µV");
        }
        Assert.InRange(outputs.Where(o => o.IsValid).Min(o => o.BaselineNoiseMicrovolts), 0.5 * baseline, baseline);
    }

    [Fact]
    public void The_contractions_in_emg_raise_the_envelope_above_its_quiet_stretches()
    {
        ushort[] counts = Recordings.Load("emg.txt");
        var chain = new SignalChain(new SignalChainOptions { SensorGain = Recordings.SensorGain }, Recordings.SampleRateHz, 1, Recordings.AdcBits, Recordings.ReferenceMillivolts);
        (EnvelopeSample[] outputs, _) = ChainRunner.Run(chain, counts, 100);

        double Mean(double from, double to) => outputs.Where(o => o.IsValid && o.SampleIndex >= from * 1000 && o.SampleIndex < to * 1000).Average(o => o.RmsMicrovolts);
        double quiet = Mean(2, 30);
        Assert.True(Mean(50, 57) > 2 * quiet, $"contraction 50-57 s: {Mean(50, 57):F2} µV vs quiet {quiet:F2} µV");
        Assert.True(Mean(36, 41) > 1.5 * quiet, $"contraction 36-41 s: {Mean(36, 41):F2} µV vs quiet {quiet:F2} µV");
        Assert.All(outputs.Where(o => o.IsValid), o => Assert.False(o.Quality.HasFlag(SignalQualityFlags.Clipping)));
    }
}
