using System.Diagnostics.Metrics;
using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Server;

/// <summary>
/// How long the service takes to hand each activation frame to each subscriber's stream, measured at every write:
/// from the envelope's computation (<see cref="ComputedToStream"/>, GetStatus.delivery_latency) and from the arrival of
/// the bytes that carried the frame's last sample (<see cref="ArrivalToStream"/>, GetStatus.arrival_to_stream, and the
/// histogram <c>emg.latency.arrival_to_stream</c> on the meter <see cref="MeterName"/>). Always on: recording allocates
/// nothing.
/// </summary>
public sealed class DeliveryLatency
{
    /// <summary>The station's meter, the one the metrics exporter listens to.</summary>
    public const string MeterName = StationMetrics.MeterName;

    public const string ArrivalToStreamInstrument = "emg.latency.arrival_to_stream";

    // Sub-millisecond to seconds: what a live display can tell apart (an exporter uses these instead of its defaults,
    // which start at 5 ms).
    private static readonly double[] BucketBoundariesMs = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 250, 500, 1000, 2500];

    private readonly TimeProvider _time;
    private readonly double _msPerTick;
    private readonly Histogram<double> _arrivalToStream;

    public DeliveryLatency(IMeterFactory meterFactory, TimeProvider time)
    {
        _time = time;
        _msPerTick = 1000.0 / time.TimestampFrequency;
        ComputedToStream = new LatencyHistogram(time);
        ArrivalToStream = new LatencyHistogram(time);
        // The factory owns the meter (one instance per name in the host) and disposes it with the host.
        Meter meter = meterFactory.Create(MeterName);
        _arrivalToStream = meter.CreateHistogram(
            ArrivalToStreamInstrument,
            "ms",
            "From the arrival of the bytes carrying an activation frame's last sample to the frame handed to a subscriber's stream, per subscriber write",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BucketBoundariesMs });
    }

    /// <summary>Envelope computed -> frame handed to a subscriber's stream, over the last 10 to 20 s.</summary>
    public LatencyHistogram ComputedToStream { get; }

    /// <summary>Arrival of the frame's last sample at the host -> frame handed to a subscriber's stream, over the last 10 to 20 s.</summary>
    public LatencyHistogram ArrivalToStream { get; }

    /// <summary>The frame was handed to one subscriber's stream just now.</summary>
    public void Delivered(ActivationFrame frame)
    {
        long now = _time.GetTimestamp();
        ComputedToStream.Record(frame.ComputedTimestamp, now);
        if (frame.ArrivalTimestamp != 0)
        {
            ArrivalToStream.Record(frame.ArrivalTimestamp, now);
            if (_arrivalToStream.Enabled)
            {
                _arrivalToStream.Record(Math.Max(0, now - frame.ArrivalTimestamp) * _msPerTick);
            }
        }
    }
}
