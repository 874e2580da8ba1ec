using EmgBiofeedback.Dsp;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording through the signal chain as fast as the machine goes: whole records in, one
/// <see cref="SignalChain"/> call per contiguous run, gaps (this project's gap notes, an EDF+D file's jumps between
/// records) passed to <see cref="SignalChain.MarkGap"/>. The chain converts with the recording's own scales, never the
/// station's sensor gain. Counts that fit 16 bits go in as 16-bit counts, exactly as a replay sends them, and the
/// kernel's results do not depend on block size: the envelopes equal, bit for bit, what the live pipeline computes
/// when the same recording is replayed (tested against the replay link).
/// </summary>
public static class RecordingProcessor
{
    /// <summary>The chain a recording runs through: its own rate and scales.</summary>
    /// <remarks>Throws <see cref="InvalidDataException"/> naming the file's rate when the chain cannot run it.</remarks>
    public static SignalChain CreateChain(RecordingFile recording, SignalChainOptions options)
    {
        try
        {
            return new(options, recording.SampleRateHz, recording.Scales);
        }
        catch (ArgumentException e)
        {
            string reason = e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the signal chain cannot run its signals at {recording.SampleRateHz:0.###} Hz: {reason}"), e);
        }
    }

    /// <summary>Runs the whole recording; <paramref name="onOutputs"/> gets each block's envelopes (frame-major).</summary>
    /// <returns>Sample instants processed (gaps not counted).</returns>
    public static long Run(RecordingFile recording, SignalChainOptions options, Action<ReadOnlySpan<EnvelopeSample>>? onOutputs = null) =>
        Run(recording, CreateChain(recording, options), onOutputs);

    /// <summary>Runs the whole recording through <paramref name="chain"/> (made by <see cref="CreateChain"/>, fresh).</summary>
    public static long Run(RecordingFile recording, SignalChain chain, Action<ReadOnlySpan<EnvelopeSample>>? onOutputs = null)
    {
        int n = recording.SamplesPerRecord, channels = recording.ChannelCount;
        bool narrow = recording.FitsUInt16;
        ushort[] counts16 = narrow ? new ushort[n * channels] : [];
        int[] counts32 = narrow ? [] : new int[n * channels];
        var recorded = new bool[n];
        var outputs = new EnvelopeSample[chain.OutputCountFor(n) + channels];
        long pendingGap = 0, processed = 0, expected = 0;
        for (long record = 0; record < recording.RecordCount; record++)
        {
            long start = recording.RecordStarts[record];
            pendingGap += Math.Max(0, start - expected);
            expected = start + n;
            if (narrow)
            {
                recording.ReadRecord(record, counts16, recorded);
            }
            else
            {
                recording.ReadRecord(record, counts32, recorded);
            }
            int i = 0;
            while (i < n)
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
                while (run < n && recorded[run])
                {
                    run++;
                }
                if (outputs.Length < chain.OutputCountFor(run - i))
                {
                    outputs = new EnvelopeSample[chain.OutputCountFor(run - i)];
                }
                int written = narrow
                    ? chain.Process(counts16.AsSpan(i * channels, (run - i) * channels), outputs)
                    : chain.Process(counts32.AsSpan(i * channels, (run - i) * channels), outputs);
                processed += run - i;
                onOutputs?.Invoke(outputs.AsSpan(0, written));
                i = run;
            }
        }
        return processed;
    }
}
