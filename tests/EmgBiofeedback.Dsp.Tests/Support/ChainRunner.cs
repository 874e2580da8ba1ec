namespace EmgBiofeedback.Dsp.Tests.Support;

/// <summary>Feeds a whole recording through a chain block by block, the way the acquisition layer would.</summary>
internal static class ChainRunner
{
    public static (EnvelopeSample[] Outputs, double[] Filtered) Run(SignalChain chain, ReadOnlySpan<ushort> interleaved, int blockFrames)
    {
        int channels = chain.ChannelCount;
        int frames = interleaved.Length / channels;
        var outputs = new List<EnvelopeSample>((frames / chain.Design.DecimationFactor * channels) + channels);
        var filtered = new double[interleaved.Length];
        var buffer = new EnvelopeSample[chain.OutputCountFor(blockFrames) + channels];
        for (int start = 0; start < frames; start += blockFrames)
        {
            int n = Math.Min(blockFrames, frames - start);
            int written = chain.Process(interleaved.Slice(start * channels, n * channels), buffer, filtered.AsSpan(start * channels, n * channels));
            outputs.AddRange(buffer.AsSpan(0, written));
        }
        return ([.. outputs], filtered);
    }

    /// <summary>RMS of one channel of an interleaved array.</summary>
    public static double ChannelRms(double[] interleaved, int channels, int channel)
    {
        double sum = 0;
        int n = 0;
        for (int i = channel; i < interleaved.Length; i += channels)
        {
            sum += interleaved[i] * interleaved[i];
            n++;
        }
        return Math.Sqrt(sum / n);
    }
}
