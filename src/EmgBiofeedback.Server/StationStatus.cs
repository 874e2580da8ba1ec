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
    LatencyQuantiles DeliveryLatency,
    LatencyQuantiles ArrivalToStream,
    HistoryStatus? History,
    Session? Session,
    ActivationFrame? Latest,
    string? NotProcessed,
    long AnnotationsLost,
    long BoardOverflow,
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
            latency.ComputedToStream.Summarise(),
            latency.ArrivalToStream.Summarise(),
            history.Status,
            sessions.Current,
            // Never a stale frame: none beside a refusal, none when the source stopped sending.
            refused is null && pipeline.Latest is { } latest && time.GetElapsedTime(latest.ComputedTimestamp) <= Fresh ? latest : null,
            refused,
            recorder.AnnotationsLost,
            acquisition.BoardOverflow,
            recorder.Failure,
            recorder.SamplesNotRecorded);
    }
}
