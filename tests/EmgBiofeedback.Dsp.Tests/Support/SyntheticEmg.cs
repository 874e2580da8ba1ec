namespace EmgBiofeedback.Dsp.Tests.Support;

/// <summary>Seeded synthetic ADC counts: noise bursts (EMG-like), mains hum, a DC offset, clamped to the ADC range.</summary>
internal static class SyntheticEmg
{
    public static ushort[] Generate(int seed, double sampleRateHz, int channels, int frames, int adcBits,
        double noiseCounts = 20, double humCounts = 5, double mainsHz = 50, double offsetCounts = double.NaN)
    {
        var random = new Random(seed);
        int fullScale = (1 << adcBits) - 1;
        double mid = double.IsNaN(offsetCounts) ? (1 << (adcBits - 1)) : offsetCounts;
        var counts = new ushort[channels * frames];
        var phase = new double[channels];
        var burstHz = new double[channels];
        for (int ch = 0; ch < channels; ch++)
        {
            phase[ch] = random.NextDouble() * 2 * Math.PI;
            burstHz[ch] = 0.3 + random.NextDouble();
        }
        for (int i = 0; i < frames; i++)
        {
            double t = i / sampleRateHz;
            for (int ch = 0; ch < channels; ch++)
            {
                double burst = 0.2 + Math.Pow(Math.Max(0, Math.Sin(2 * Math.PI * burstHz[ch] * t + phase[ch])), 4) * 3;
                double emg = Gaussian(random) * noiseCounts * burst;
                double hum = humCounts * (1 + (0.2 * ch)) * Math.Sin((2 * Math.PI * mainsHz * t) + phase[ch])
                    + (0.3 * humCounts * Math.Sin((2 * Math.PI * 3 * mainsHz * t) + phase[ch]));
                double v = Math.Round(mid + (3 * ch) + emg + hum);
                counts[(i * channels) + ch] = (ushort)Math.Clamp(v, 0, fullScale);
            }
        }
        return counts;
    }

    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
