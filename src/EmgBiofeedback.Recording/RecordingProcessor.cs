using EmgBiofeedback.Dsp;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording through the signal chain as fast as the machine goes: whole 1 s records in, one
/// <see cref="SignalChain.Process(ReadOnlySpan{ushort}, Span{EnvelopeSample})"/> call per contiguous run,
/// gaps passed to <see cref="SignalChain.MarkGap"/>. The kernel's results do not depend on block size, so the
/// envelopes equal, bit for bit, what the live pipeline computed frame by frame (tested against the replay link).
/// </summary>
public static class RecordingProcessor
{
    /// <summary>Runs the whole recording; <paramref name="onOutputs"/> gets each block's envelopes (frame-major).</summary>
    /// <returns>Sample instants processed (gaps not counted).</returns>
    public static long Run(RecordingFile recording, SignalChainOptions options, Action<ReadOnlySpan<EnvelopeSample>>? onOutputs = null)
    {
        int rate = recording.SampleRateHz, channels = recording.ChannelCount;
        var chain = new SignalChain(options, rate, channels, recording.Board.AdcBits, recording.Board.ReferenceMillivolts);
        var counts = new ushort[rate * channels];
        var recorded = new bool[rate];
        var outputs = new EnvelopeSample[chain.OutputCountFor(rate) + channels];
        long pendingGap = 0, processed = 0;
        for (long record = 0; record < recording.RecordCount; record++)
        {
            recording.ReadRecord(record, counts, recorded);
            int i = 0;
            while (i < rate)
            {
                if (!recorded[i])
                {
                    pendingGap++;
                    i++;
                    continue;
                }
                if (pendingGap > 0 && processed > 0)
                {
                    chain.MarkGap(pendingGap);
                }
                pendingGap = 0;
                int run = i;
                while (run < rate && recorded[run])
                {
                    run++;
                }
                int written = chain.Process(counts.AsSpan(i * channels, (run - i) * channels), outputs);
                processed += run - i;
                onOutputs?.Invoke(outputs.AsSpan(0, written));
                i = run;
            }
        }
        return processed;
    }
}
