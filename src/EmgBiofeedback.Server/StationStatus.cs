using System.Diagnostics.Metrics;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server;

/// <summary>
/// The station's state at one instant: the one snapshot that GetStatus answers with, the status line prints and the
/// metrics report, so the three can never disagree about a counter or a source.
/// </summary>
internal sealed record StationStatus(
    bool Connected,
    string Link,
    SourceKind Source,
    BoardInfo? Board,
    DecoderCounters Counters,
    long Reconnects,
    long DroppedSubscriberFrames,
    int ActivationSubscribers,
    double ActivationRateHz,
    IReadOnlyList<string> ChannelLabels,
    (double P50, double P99, double Max, long Count) DeliveryLatency,
    HistoryStatus? History,
    Session? Session,
    ActivationFrame? Latest,
    string? NotProcessed,
    long AnnotationsLost,
    string? RecorderFailure = null,
    long SamplesNotRecorded = 0);

/// <summary>Takes <see cref="StationStatus"/> snapshots from the parts that own each value.</summary>
internal sealed class StationStatusSource(
    AcquisitionLoop acquisition,
    LivePipeline pipeline,
    SessionManager sessions,
    HistoryWorker history,
    DeliveryLatency latency,
    Recorder recorder,
    Microsoft.Extensions.Options.IOptions<Dsp.SignalChainOptions> dsp,
    TimeProvider time)
{
    /// <summary>An activation frame older than this is not shown as current (a source that stopped sending).</summary>
    public static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);

    public StationStatus Capture()
    {
        IReadOnlyList<string> labels = pipeline.Labels;
        int channels = pipeline.ChannelCount;
        var channelLabels = new string[channels];
        for (int i = 0; i < channels; i++)
        {
            channelLabels[i] = i < labels.Count ? labels[i] : $"CH{i + 1}";
        }
        string? refused = pipeline.Refused;
        return new StationStatus(
            acquisition.Connected,
            acquisition.LinkDescription,
            acquisition.Source,
            acquisition.Board,
            acquisition.Counters,
            acquisition.Reconnects,
            pipeline.Activation.Dropped,
            pipeline.Activation.SubscriberCount,
            pipeline.OutputRateHz > 0 ? pipeline.OutputRateHz : dsp.Value.OutputRateHz,
            channelLabels,
            latency.Summarise(),
            history.Status,
            sessions.Current,
            // Never a stale frame: none beside a refusal, none when the source stopped sending.
            refused is null && pipeline.Latest is { } latest && time.GetElapsedTime(latest.ComputedTimestamp) <= Fresh ? latest : null,
            refused,
            recorder.AnnotationsLost,
            recorder.Failure,
            recorder.SamplesNotRecorded);
    }
}

/// <summary>
/// The station's counters as System.Diagnostics.Metrics instruments, read from <see cref="StationStatus"/> snapshots
/// when a listener asks (read them live with <c>dotnet-counters monitor -n EmgBiofeedback.Server --counters
/// EmgBiofeedback.Acquisition</c>), so the hot path pays nothing.
/// </summary>
internal sealed class StationMetrics : IDisposable
{
    public const string MeterName = "EmgBiofeedback.Acquisition";

    private readonly Meter _meter;

    public StationMetrics(IMeterFactory meterFactory, StationStatusSource status)
    {
        _meter = meterFactory.Create(MeterName);
        DecoderCounters C() => status.Capture().Counters;
        _meter.CreateObservableCounter("emg.acquisition.frames", () => C().SampleFrames, "{frame}", "Sample frames decoded");
        _meter.CreateObservableCounter("emg.acquisition.lost_frames", () => C().LostFrames, "{frame}", "Sample instants missing according to the sequence numbers");
        _meter.CreateObservableCounter("emg.acquisition.gaps", () => C().Gaps, "{gap}", "Runs of missing sample instants");
        _meter.CreateObservableCounter("emg.acquisition.duplicates", () => C().Duplicates, "{frame}", "Frames received twice or out of order, dropped");
        _meter.CreateObservableCounter("emg.acquisition.crc_errors", () => C().CrcErrors, "{frame}", "Frames whose CRC did not match");
        _meter.CreateObservableCounter("emg.acquisition.malformed_frames", () => C().MalformedFrames, "{frame}", "Frames with a valid CRC but an impossible payload");
        _meter.CreateObservableCounter("emg.acquisition.discarded_bytes", () => C().DiscardedBytes, "By", "Bytes that were not part of any valid frame");
        _meter.CreateObservableCounter("emg.acquisition.resyncs", () => C().Resyncs, "{resync}", "Times the decoder searched for the frame boundary again");
        _meter.CreateObservableCounter("emg.acquisition.reconnects", () => status.Capture().Reconnects, "{reconnect}", "Connections to the board after the first");
        _meter.CreateObservableUpDownCounter("emg.acquisition.connected", () => status.Capture().Connected ? 1 : 0, "{link}", "1 while the board is connected");
        _meter.CreateObservableUpDownCounter("emg.acquisition.processed", () => status.Capture().NotProcessed is null ? 1 : 0, "{source}", "0 while the signal chain refuses the source (its rate or scale)");
        _meter.CreateObservableCounter("emg.live.dropped_subscriber_frames", () => status.Capture().DroppedSubscriberFrames, "{frame}", "Activation frames dropped for subscribers that did not keep up");
        _meter.CreateObservableUpDownCounter("emg.live.activation_subscribers", () => status.Capture().ActivationSubscribers, "{subscriber}", "Activation stream subscribers");
    }

    public void Dispose() => _meter.Dispose();
}
