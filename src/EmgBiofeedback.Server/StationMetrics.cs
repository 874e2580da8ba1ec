using System.Diagnostics.Metrics;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.History;

namespace EmgBiofeedback.Server;

/// <summary>
/// The station's counters as System.Diagnostics.Metrics instruments on the meter <see cref="MeterName"/>, read from
/// <see cref="StationStatus"/> snapshots when a listener collects (the Prometheus scrape, <c>dotnet-counters monitor -n
/// EmgBiofeedback.Server --counters EmgBiofeedback</c>), so the hot path pays nothing and the metrics, GetStatus and the
/// status line report one set of values. The histograms on the same meter are recorded where the measured thing
/// happens (the history writer's requests: <see cref="HistoryService.WriteDurationInstrument"/>).
/// </summary>
internal sealed class StationMetrics
{
    public const string MeterName = "EmgBiofeedback";

    // A collection reads every instrument within a few milliseconds: they all report the snapshot taken for the first,
    // so one scrape describes one instant (and Capture runs once per scrape). The first instrument created is the first
    // a collection reads (instruments are collected in creation order): it always takes a new snapshot, so a scrape
    // never reports one an earlier scrape took; the others reuse it for at most this long.
    private static readonly TimeSpan SnapshotReuse = TimeSpan.FromMilliseconds(100);

    private readonly StationStatusSource _status;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private StationStatus? _snapshot;
    private long _takenAt;

    public StationMetrics(IMeterFactory meterFactory, StationStatusSource status, TimeProvider time)
    {
        _status = status;
        _time = time;
        // The factory owns the meter (one instance per name for the whole host) and disposes it with the host.
        Meter meter = meterFactory.Create(MeterName);

        // Acquisition.
        meter.CreateObservableCounter("emg.acquisition.frames", () => Gauge(Snapshot(fresh: true).Counters.SampleFrames), "{frame}", "Sample frames received from the source and decoded");
        meter.CreateObservableGauge("emg.acquisition.sample_rate", () => Gauge(Snapshot().Board?.SampleRateHz), "Hz", "The source's sample rate, as it identified itself");
        meter.CreateObservableGauge("emg.acquisition.channels", () => Gauge(Snapshot().Board?.ChannelCount), "{channel}", "Channels the source sends");
        meter.CreateObservableGauge("emg.acquisition.connected", () => Snapshot().Connected ? 1 : 0, "{link}", "1 while the source is connected");
        meter.CreateObservableGauge("emg.acquisition.processed", () => Snapshot().NotProcessed is null ? 1 : 0, "{source}", "0 while the signal chain refuses the source (its rate or scale)");
        meter.CreateObservableGauge("emg.acquisition.source", Sources, "{source}", "1 for the kind of source read now (kind: serial_board, simulated_board, replay), 0 for the others");
        Counter(meter, "emg.acquisition.reconnects", s => s.Reconnects, "{reconnect}", "Connections to the source after the first");

        // Losses: every count the status line and GetStatus report.
        Counter(meter, "emg.acquisition.lost_frames", s => s.Counters.LostFrames, "{frame}", "Sample instants missing according to the sequence numbers");
        Counter(meter, "emg.acquisition.gaps", s => s.Counters.Gaps, "{gap}", "Runs of missing sample instants");
        Counter(meter, "emg.acquisition.crc_errors", s => s.Counters.CrcErrors, "{frame}", "Frames whose CRC did not match, dropped");
        Counter(meter, "emg.acquisition.resyncs", s => s.Counters.Resyncs, "{resync}", "Times the decoder searched for a frame boundary again");
        Counter(meter, "emg.acquisition.duplicates", s => s.Counters.Duplicates, "{frame}", "Frames received twice or out of order, dropped");
        Counter(meter, "emg.acquisition.malformed_frames", s => s.Counters.MalformedFrames, "{frame}", "Frames with a valid CRC that contradict the protocol or the board's HELLO, dropped");
        Counter(meter, "emg.acquisition.discarded_bytes", s => s.Counters.DiscardedBytes, "By", "Bytes that were part of no valid frame");
        Counter(meter, "emg.acquisition.frames_before_hello", s => s.Counters.FramesBeforeHello, "{frame}", "Sample frames received before the board identified itself, dropped");
        Counter(meter, "emg.acquisition.board_restarts", s => s.Counters.BoardRestarts, "{restart}", "Times the board's sequence numbers started again (the board rebooted)");
        Counter(meter, "emg.acquisition.board_overflow", s => s.BoardOverflow, "{sample}", "Sample instants the board dropped because its buffer overflowed, since the board booted");
        Counter(meter, "emg.live.dropped_subscriber_frames", s => s.DroppedSubscriberFrames, "{frame}", "Activation frames dropped for subscribers that did not keep up");
        Counter(meter, "emg.recorder.annotations_lost", s => s.AnnotationsLost, "{annotation}", "Annotations (markers, events) the recorder had no room for in their second's record");
        Counter(meter, "emg.recorder.samples_not_recorded", s => s.SamplesNotRecorded, "{sample}", "Sample instants of a session that are in no recording: the file could not be written (disk full, folder gone)");

        // Live streams.
        meter.CreateObservableUpDownCounter("emg.live.activation_subscribers", () => Snapshot().ActivationSubscribers, "{subscriber}", "Activation subscriptions open now (streams, and the history writer when on)");
        meter.CreateObservableGauge("emg.live.activation_rate", () => Snapshot().ActivationRateHz, "Hz", "Rate of the activation frames the signal chain computes");
        meter.CreateObservableGauge("emg.latency.delivery.recent", DeliveryLatency, "ms",
            "Delay from an envelope's computation to its frame being handed to a subscriber's stream, over the recent writes GetStatus.delivery_latency summarises (quantile: 0.5, 0.99, 1 = the maximum)");
        meter.CreateObservableGauge("emg.session.active", () => Snapshot().Session is null ? 0 : 1, "{session}", "1 while a session is open");

        // History (absent while history is off).
        Counter(meter, "emg.history.points.written", s => s.History?.PointsWritten, "{point}", "Points the history server accepted");
        Counter(meter, "emg.history.points.spooled", s => s.History?.PointsSpooled, "{point}", "Points whose batch was completed in the on-disk spool");
        Counter(meter, "emg.history.points.dropped", s => s.History?.PointsDropped, "{point}", "Points lost: the spool was full, or could not be written and the send failed; back-fill them from the recording");
        Counter(meter, "emg.history.points.recovered", s => s.History?.PointsRecovered, "{point}", "Points recovered at start-up from batches a killed writer left half-written");
        Counter(meter, "emg.history.write_failures", s => s.History?.WriteFailures, "{request}", "Write requests to the history server that did not deliver their batch, each attempt");
        meter.CreateObservableGauge("emg.history.points.pending", () => Gauge(Snapshot().History?.PointsPending), "{point}", "Points spooled and not yet taken by the history server");
        meter.CreateObservableGauge("emg.history.spool.bytes", () => Gauge(Snapshot().History?.SpoolBytes), "By", "Bytes in the on-disk spool");
        meter.CreateObservableGauge("emg.history.spool.limit", () => Gauge(Snapshot().History?.SpoolMaxBytes), "By", "Bound of the on-disk spool (History:SpoolMaxBytes)");
        meter.CreateObservableGauge("emg.history.spool.batches", () => Gauge(Snapshot().History?.SpoolBatches), "{batch}", "Batches in the on-disk spool, in flight included");
        meter.CreateObservableGauge("emg.history.state", HistoryStates, "{state}", "1 for the history writer's state now, 0 for the others");
    }

    /// <summary>The snapshot every instrument of one collection reports.</summary>
    private StationStatus Snapshot(bool fresh = false)
    {
        lock (_gate)
        {
            if (fresh || _snapshot is null || _time.GetElapsedTime(_takenAt) > SnapshotReuse)
            {
                _snapshot = _status.Capture();
                _takenAt = _time.GetTimestamp();
            }
            return _snapshot;
        }
    }

    private void Counter(Meter meter, string name, Func<StationStatus, long?> read, string unit, string description) =>
        meter.CreateObservableCounter(name, () => Gauge(read(Snapshot())), unit, description);

    /// <summary>No measurement for a value that does not exist now (no board yet, history off), rather than a made-up 0.</summary>
    private static IEnumerable<Measurement<long>> Gauge(long? value) => value is { } v ? [new Measurement<long>(v)] : [];

    private IEnumerable<Measurement<int>> Sources()
    {
        SourceKind now = Snapshot().Source;
        return
        [
            State(now == SourceKind.SerialBoard, "kind", "serial_board"),
            State(now == SourceKind.SimulatedBoard, "kind", "simulated_board"),
            State(now == SourceKind.Replay, "kind", "replay"),
        ];
    }

    private IEnumerable<Measurement<int>> HistoryStates()
    {
        if (Snapshot().History is not { } history)
        {
            return [];
        }
        return Enum.GetValues<HistoryState>().Where(s => s != HistoryState.Disabled).Select(s => State(s == history.State, "state", s.ToString())).ToArray();
    }

    private static Measurement<int> State(bool current, string tag, string value) => new(current ? 1 : 0, new KeyValuePair<string, object?>(tag, value));

    private IEnumerable<Measurement<double>> DeliveryLatency()
    {
        (double p50, double p99, double max, long count) = Snapshot().DeliveryLatency;
        if (count == 0)
        {
            return [];
        }
        return
        [
            new Measurement<double>(p50, new KeyValuePair<string, object?>("quantile", "0.5")),
            new Measurement<double>(p99, new KeyValuePair<string, object?>("quantile", "0.99")),
            new Measurement<double>(max, new KeyValuePair<string, object?>("quantile", "1")),
        ];
    }
}
