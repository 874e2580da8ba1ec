using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition;

/// <summary>Per-channel activity over one reporting interval.</summary>
public readonly record struct ChannelActivity(string Label, double RmsCounts, double RmsMicrovolts, int Min, int Max);

/// <summary>What arrived since the previous snapshot.</summary>
public sealed record ActivitySnapshot(TimeSpan Interval, long Frames, IReadOnlyList<ChannelActivity> Channels)
{
    public double FramesPerSecond => Interval > TimeSpan.Zero ? Frames / Interval.TotalSeconds : 0;
}

/// <summary>
/// Watches the raw stream for the console and the status line: frames per interval and, per channel, the
/// RMS about the mean (the EMG's AC part) in ADC counts and in microvolts at the electrodes. This is a
/// quick look, not the signal chain: no filtering, so hum and artefacts count too.
/// </summary>
public sealed class LiveActivityMonitor(TimeProvider time, double sensorGain, IReadOnlyList<string> labels) : IAcquisitionSink
{
    private readonly Lock _gate = new();
    private readonly double[] _sum = new double[WireFormat.MaxChannels];
    private readonly double[] _sumOfSquares = new double[WireFormat.MaxChannels];
    private readonly int[] _min = new int[WireFormat.MaxChannels];
    private readonly int[] _max = new int[WireFormat.MaxChannels];
    private long _frames;
    private long _since = time.GetTimestamp();
    private BoardInfo? _board;

    public void OnBoard(BoardInfo board)
    {
        lock (_gate)
        {
            _board = board;
            ResetSums();
        }
    }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts)
    {
        lock (_gate)
        {
            for (int c = 0; c < counts.Length; c++)
            {
                int x = counts[c];
                _sum[c] += x;
                _sumOfSquares[c] += (double)x * x;
                _min[c] = Math.Min(_min[c], x);
                _max[c] = Math.Max(_max[c], x);
            }
            _frames++;
        }
    }

    public void OnGap(SampleGap gap)
    {
    }

    public void OnEvent(AcquisitionEvent acquisitionEvent)
    {
    }

    /// <summary>Returns the activity since the last call and starts a new interval.</summary>
    public ActivitySnapshot TakeSnapshot()
    {
        lock (_gate)
        {
            TimeSpan interval = time.GetElapsedTime(_since);
            _since = time.GetTimestamp();
            int channels = _board?.ChannelCount ?? 0;
            var result = new ChannelActivity[channels];
            double microvoltsPerCount = _board is null ? 0 : _board.ReferenceMillivolts * 1000.0 / (1 << _board.AdcBits) / sensorGain;
            for (int c = 0; c < channels; c++)
            {
                double mean = _frames > 0 ? _sum[c] / _frames : 0;
                double variance = _frames > 0 ? Math.Max(0, _sumOfSquares[c] / _frames - mean * mean) : 0;
                double rms = Math.Sqrt(variance);
                string label = c < labels.Count ? labels[c] : $"CH{c + 1}";
                result[c] = new ChannelActivity(label, rms, rms * microvoltsPerCount, _frames > 0 ? _min[c] : 0, _frames > 0 ? _max[c] : 0);
            }
            var snapshot = new ActivitySnapshot(interval, _frames, result);
            ResetSums();
            return snapshot;
        }
    }

    private void ResetSums()
    {
        Array.Clear(_sum);
        Array.Clear(_sumOfSquares);
        Array.Fill(_min, int.MaxValue);
        Array.Fill(_max, int.MinValue);
        _frames = 0;
    }
}
