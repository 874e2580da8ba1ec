using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Writes the live activation to the history server when History:Enabled: frames come from the pipeline
/// through the writer's own bounded subscription, tagged with the open session (pseudonymous code, the
/// recording's station, channel labels from the montage) and stamped on the session recording's timeline, so
/// that <c>emg backfill</c> of the recording writes the very same series and timestamps; session start, stop and
/// markers are written as events.
/// </summary>
internal sealed class HistoryWorker(
    LivePipeline pipeline,
    Recorder recorder,
    IOptions<RecorderOptions> recording,
    IOptions<HistoryOptions> options,
    ILogger<HistoryService> logger,
    TimeProvider time) : BackgroundService, ISessionObserver, IHistorySessionProvider
{
    // Frames the writer may fall behind by (10 s at 50 Hz) before the fan-out drops and counts them: the
    // writer itself never waits for the network, it spools to disk.
    private const int QueueFrames = 500;

    private volatile HistorySession? _session;
    private HistoryService? _service;

    public HistorySession? Current => _session;

    /// <summary>The writer's state for the status API; null when history is off.</summary>
    public HistoryStatus? Status => _service?.Status;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(QueueFrames);
        await using var service = new HistoryService(options.Value, this, logger, time);
        _service = service;
        await service.RunAsync(frames, stoppingToken);
    }

    public void SessionStarted(Session session, IReadOnlyList<string> labels)
    {
        // The montage reaches history through the channel labels the session manager set (as in the recording).
        _session = new HistorySession(session.SessionId, session.PatientCode, recording.Value.Station, OpenedRecordingTimeline());
        _service?.RecordEvent("session_started", session.SessionId, session.StartedAt);
    }

    public void SessionStopped(Sessions.SessionSummary summary)
    {
        _service?.RecordEvent("session_stopped", summary.Session.SessionId, summary.StoppedAt);
        _session = null;
    }

    /// <summary>
    /// The timeline of the recording the recorder (an earlier observer) has just opened for this session, or null
    /// when nothing is being recorded (the points then take the host-fitted clock). The recorder does not publish
    /// the acquisition index of its first sample, so it is inferred from its position; the two counters are read
    /// until stable, which leaves a window of one sample being handed from the pipeline to the recorder.
    /// </summary>
    private SessionTimeline? OpenedRecordingTimeline()
    {
        if (!recorder.IsRecording || recorder.CurrentStart is not { } start || pipeline.Latest is not { SampleIndex: > 0 } latest || pipeline.OutputRateHz <= 0)
        {
            return null;
        }
        int rate = (int)Math.Round(latest.SampleIndex / latest.SampleTimeSeconds); // frames carry index and index / rate
        long position, next;
        do
        {
            position = recorder.Position;
            next = pipeline.CurrentSampleIndex;
        }
        while (position != recorder.Position);
        // The header's own start time: reading the clock again here could fall in the next second.
        return SessionTimeline.ForOpenedRecording(start, next, position, rate, pipeline.OutputRateHz);
    }

    public void MarkerAdded(Marker marker) => _service?.RecordEvent("marker", marker.Label, marker.Time);
}
