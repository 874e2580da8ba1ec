using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Writes the live activation to the history server when History:Enabled: frames come from the pipeline
/// through the writer's own bounded subscription, tagged with the open session (pseudonymous code and
/// montage); session start, stop and markers are written as events.
/// </summary>
internal sealed class HistoryWorker(
    LivePipeline pipeline,
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
        IReadOnlyList<MontageChannel>? montage = session.Montage.Count == 0 ? null
            : session.Montage.Select(m => new MontageChannel(m.Channel, m.Muscle, (BodySide)m.Side)).ToArray();
        _session = new HistorySession(session.SessionId, session.PatientCode, montage);
        _service?.RecordEvent("session_started", session.SessionId, session.StartedAt);
    }

    public void SessionStopped(Sessions.SessionSummary summary)
    {
        _service?.RecordEvent("session_stopped", summary.Session.SessionId, summary.StoppedAt);
        _session = null;
    }

    public void MarkerAdded(Marker marker) => _service?.RecordEvent("marker", marker.Label, marker.Time);
}
