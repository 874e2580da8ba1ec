using System.Numerics;

namespace EmgBiofeedback.Server;

/// <summary>Quantiles of one latency over its window, milliseconds.</summary>
public readonly record struct LatencyQuantiles(double P50, double P99, double P999, double Max, long Count)
{
    /// <summary>The four figures GetStatus.delivery_latency always had (p50, p99, max, count).</summary>
    public void Deconstruct(out double p50, out double p99, out double max, out long count) =>
        (p50, p99, max, count) = (P50, P99, Max, Count);
}

/// <summary>
/// The latencies of the last 10 to 20 seconds as a log-linear histogram: 16 buckets per power of two of microseconds,
/// so every quantile is within 6.25 % of the true value (exact below 16 µs). Recording one costs a bucket index and an
/// interlocked increment, allocates nothing and never waits (bar one thread every 10 s that clears the interval it
/// takes over); quantiles are read on demand. Time is cut into 10 s intervals on the monotonic clock; two are kept,
/// the current one and the one before, so the figures always cover at least the last 10 s however busy the streams
/// (a ring of the last N values covers a third of a second at 1000 subscribers).
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 4;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int MaxExponent = 40; // 2^40 µs is 12 days: anything longer lands in the last bucket
    private const int BucketCount = (MaxExponent - SubBucketBits + 2) * SubBuckets;

    /// <summary>Length of one interval; the figures cover the current one and the one before.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private readonly double _microsPerTick;
    private readonly Lock _gate = new();
    private readonly Slot[] _slots = [new(), new()];

    public LatencyHistogram(TimeProvider time)
    {
        _time = time;
        _intervalTicks = (long)(Interval.TotalSeconds * time.TimestampFrequency);
        _microsPerTick = 1e6 / time.TimestampFrequency;
    }

    /// <summary>Records the time from <paramref name="startTimestamp"/> to <paramref name="nowTimestamp"/> (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public void Record(long startTimestamp, long nowTimestamp)
    {
        long micros = (long)(Math.Max(0, nowTimestamp - startTimestamp) * _microsPerTick);
        long number = nowTimestamp / _intervalTicks;
        Slot slot = _slots[number & 1];
        long current = Volatile.Read(ref slot.Number);
        if (current != number)
        {
            if (current > number)
            {
                return; // a measurement that took 10 s to arrive here: its interval is gone
            }
            TakeOver(slot, number);
        }
        Interlocked.Increment(ref slot.Counts[BucketOf(micros)]);
        long max = Volatile.Read(ref slot.MaxMicros);
        while (micros > max)
        {
            long seen = Interlocked.CompareExchange(ref slot.MaxMicros, micros, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    /// <summary>p50, p99, p99.9 and the maximum of what was recorded in the last 10 to 20 s, with how many that was.</summary>
    public LatencyQuantiles Summarise()
    {
        long number = _time.GetTimestamp() / _intervalTicks;
        lock (_gate)
        {
            Slot a = _slots[number & 1], b = _slots[(number - 1) & 1];
            long[]? countsA = a.Number == number ? a.Counts : null;
            long[]? countsB = b.Number == number - 1 ? b.Counts : null;
            long maxMicros = Math.Max(countsA is null ? 0 : Volatile.Read(ref a.MaxMicros), countsB is null ? 0 : Volatile.Read(ref b.MaxMicros));
            long total = 0;
            for (int i = 0; i < BucketCount; i++)
            {
                total += At(countsA, i) + At(countsB, i);
            }
            if (total == 0)
            {
                return default;
            }
            double max = maxMicros / 1000.0;
            return new LatencyQuantiles(
                Quantile(countsA, countsB, total, 0.5, max),
                Quantile(countsA, countsB, total, 0.99, max),
                Quantile(countsA, countsB, total, 0.999, max),
                max,
                total);
        }
    }

    /// <summary>The bucket of a latency in microseconds: exact below 16 µs, then 16 per power of two.</summary>
    internal static int BucketOf(long micros)
    {
        if (micros < SubBuckets)
        {
            return (int)micros;
        }
        int exponent = 63 - BitOperations.LeadingZeroCount((ulong)micros);
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }
        int shift = exponent - SubBucketBits;
        return (shift * SubBuckets) + (int)(micros >> shift);
    }

    /// <summary>The largest latency, in microseconds, that falls in <paramref name="bucket"/>.</summary>
    internal static long UpperMicros(int bucket)
    {
        if (bucket < SubBuckets)
        {
            return bucket;
        }
        int shift = (bucket / SubBuckets) - 1;
        long sub = (bucket % SubBuckets) + SubBuckets;
        return ((sub + 1) << shift) - 1;
    }

    private static long At(long[]? counts, int i) => counts is null ? 0 : Volatile.Read(ref counts[i]);

    /// <summary>The upper edge of the bucket holding the q-quantile (never above the maximum seen), milliseconds.</summary>
    private static double Quantile(long[]? a, long[]? b, long total, double q, double max)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += At(a, i) + At(b, i);
            if (seen >= rank)
            {
                return Math.Min(UpperMicros(i) / 1000.0, max);
            }
        }
        return max;
    }

    private void TakeOver(Slot slot, long number)
    {
        lock (_gate)
        {
            if (slot.Number < number)
            {
                Array.Clear(slot.Counts);
                slot.MaxMicros = 0;
                Volatile.Write(ref slot.Number, number); // published after the clearing: recorders of this interval count from zero
            }
        }
    }

    private sealed class Slot
    {
        public long Number = -1;
        public long MaxMicros;
        public readonly long[] Counts = new long[BucketCount];
    }
}
