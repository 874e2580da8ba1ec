using System.Diagnostics.Metrics;
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
    TimeProvider time,
    IMeterFactory meters) : BackgroundService, ISessionObserver
{
    // Frames the writer may fall behind by (10 s at 50 Hz) before the fan-out drops and counts them: the
    // writer itself never waits for the network, it spools to disk.
    private const int QueueFrames = 500;

    // Which session each frame is tagged with, by its samples: the writer reads frames from a queue, after the fact.
    private readonly SessionSpans _sessions = new();
    private HistoryService? _service;

    /// <summary>The writer's state for the status API; null when history is off.</summary>
    public HistoryStatus? Status => _service?.Status;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(QueueFrames);
        await using var service = new HistoryService(options.Value, _sessions, logger, time, meters.Create(StationMetrics.MeterName));
        _service = service;
        await service.RunAsync(frames, stoppingToken);
    }

    public void SessionStarted(Session session, IReadOnlyList<string> labels, long firstSampleIndex)
    {
        // The montage reaches history through the channel labels the session manager set (as in the recording); the
        // points are stamped on the recording's timeline, which starts with this sample.
        SessionTimeline? timeline = recorder.IsRecording && recorder.CurrentStart is { } start && firstSampleIndex >= 0 && pipeline.Stream is { } stream
            ? SessionTimeline.Create(start, firstSampleIndex, stream.SampleRateHz, stream.OutputRateHz)
            : null;
        _sessions.Started(new HistorySession(session.SessionId, session.PatientCode, recording.Value.Station, timeline), firstSampleIndex);
        _service?.RecordEvent("session_started", session.SessionId, session.StartedAt);
    }

    public void Annotated(ClinicalAnnotation annotation, DateTimeOffset time)
    {
        if (annotation.Kind is ClinicalAnnotationKind.Marker or ClinicalAnnotationKind.Target or ClinicalAnnotationKind.Protocol or ClinicalAnnotationKind.CalibrationReused)
        {
            _service?.RecordEvent(annotation.Kind == ClinicalAnnotationKind.Marker ? "marker" : "clinical", annotation.Text, time);
        }
    }

    public void SessionEnded(Session session, long endSampleIndex) => _sessions.Ended(endSampleIndex);

    public void SessionStopped(StoppedSession stopped)
    {
        if (_sessions.Current is { } session && stopped.Summary is { } summary)
        {
            _service?.RecordSummary(session, summary, stopped.StoppedAt);
        }
        _service?.RecordEvent("session_stopped", stopped.Session.SessionId, stopped.StoppedAt);
        _sessions.Stopped();
    }
}
