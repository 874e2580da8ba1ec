using System.Diagnostics.Metrics;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace EmgBiofeedback.Server.Tests;

/// <summary>The service's own latency figures: a windowed histogram per measure, and the arrival-to-stream metric.</summary>
public class LatencyTests
{
    private const long Frequency = 1_000_000_000; // timestamps in nanoseconds

    [Fact]
    public void Quantiles_are_at_most_one_bucket_above_the_true_values_and_never_below()
    {
        var clock = new ManualClock { Now = 5 * Frequency };
        var histogram = new LatencyHistogram(clock);
        var random = new Random(42);
        var latenciesMs = new double[100_000];
        for (int i = 0; i < latenciesMs.Length; i++)
        {
            // Mostly around a millisecond, a long tail up to seconds: a log-normal.
            double ms = Math.Exp(random.NextDouble() * random.NextDouble() * 8 - 1);
            long ticks = (long)(ms * Frequency / 1000);
            latenciesMs[i] = ticks * 1000.0 / Frequency;
            histogram.Record(clock.Now - ticks, clock.Now);
        }
        Array.Sort(latenciesMs);

        LatencyQuantiles q = histogram.Summarise();

        Assert.Equal(latenciesMs.Length, q.Count);
        Assert.Equal(latenciesMs[^1], q.Max, 0.001);
        foreach ((double reported, double quantile) in new[] { (q.P50, 0.5), (q.P99, 0.99), (q.P999, 0.999) })
        {
            double exact = latenciesMs[(int)Math.Ceiling(quantile * latenciesMs.Length) - 1];
            Assert.InRange(reported, exact - 0.001, (exact * 1.0625) + 0.001);
        }
    }

    [Fact]
    public void Every_latency_lands_in_a_bucket_whose_upper_edge_is_within_a_sixteenth_of_it()
    {
        for (long micros = 0; micros < 1L << 36; micros = (micros * 9 / 8) + 1)
        {
            int bucket = LatencyHistogram.BucketOf(micros);
            long upper = LatencyHistogram.UpperMicros(bucket);
            Assert.InRange(upper, micros, micros + (micros / 16));
            Assert.True(bucket == 0 || LatencyHistogram.UpperMicros(bucket - 1) < micros, $"{micros} µs belongs to a lower bucket than {bucket}");
        }
    }

    [Fact]
    public void The_figures_cover_the_current_10_s_interval_and_the_one_before()
    {
        var clock = new ManualClock();
        var histogram = new LatencyHistogram(clock);

        Record(histogram, clock, atSeconds: 1, ms: 5);
        Record(histogram, clock, atSeconds: 12, ms: 1);
        clock.Now = 19 * Frequency;
        Assert.Equal((2L, 5.0), (histogram.Summarise().Count, histogram.Summarise().Max));

        Record(histogram, clock, atSeconds: 21, ms: 2); // interval 2 takes over interval 0's slot
        Assert.Equal((2L, 2.0), (histogram.Summarise().Count, histogram.Summarise().Max));

        clock.Now = 40 * Frequency;
        Assert.Equal(default, histogram.Summarise());
    }

    [Fact]
    public void Recording_allocates_nothing_across_intervals()
    {
        var clock = new ManualClock { Now = Frequency };
        var histogram = new LatencyHistogram(clock);
        histogram.Record(0, clock.Now); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200_000; i++)
        {
            clock.Now += Frequency / 2000; // 100 s in all: ten intervals taken over
            histogram.Record(clock.Now - (i % 5000 * 1000), clock.Now);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Each_delivery_records_both_latencies_and_the_arrival_to_stream_instrument_on_the_EmgBiofeedback_meter_without_allocating()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var clock = new ManualClock { Now = 100 * Frequency };
        var latency = new DeliveryLatency(services.GetRequiredService<IMeterFactory>(), clock);
        var seen = new double[100_000];
        int count = 0;
        using var listener = new ArrivalLatencyListener(value => seen[count++] = value);
        var frame = new ActivationFrame
        {
            Sequence = 1, SampleIndex = 19, SampleTimeSeconds = 0.019, ComputedAt = DateTimeOffset.UnixEpoch, Muscles = [],
            ArrivalTimestamp = clock.Now - (3 * Frequency / 1000),
            ComputedTimestamp = clock.Now - (Frequency / 1000),
        };
        latency.Delivered(frame); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            latency.Delivered(frame);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal("ms", listener.Unit);
        Assert.Equal(10_001, count);
        Assert.All(seen[..count], v => Assert.Equal(3.0, v, 1e-9));
        Assert.Equal(new LatencyQuantiles(3, 3, 3, 3, 10_001), latency.ArrivalToStream.Summarise());
        Assert.Equal(new LatencyQuantiles(1, 1, 1, 1, 10_001), latency.ComputedToStream.Summarise());
    }

    private static void Record(LatencyHistogram histogram, ManualClock clock, double atSeconds, double ms)
    {
        clock.Now = (long)(atSeconds * Frequency);
        histogram.Record(clock.Now - (long)(ms * Frequency / 1000), clock.Now);
    }

    private sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; }
        public override long TimestampFrequency => Frequency;
        public override long GetTimestamp() => Now;
    }
}
