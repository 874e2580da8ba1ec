using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server;

/// <summary>Every session is recorded: a BDF+ file opens when it starts and closes when it stops; markers go in as annotations.</summary>
internal sealed class SessionRecording(Recorder recorder, Microsoft.Extensions.Options.IOptions<RecorderOptions> options) : ISessionObserver
{
    public void SessionStarted(Session session, IReadOnlyList<string> labels) =>
        recorder.Start(new RecordingRequest(options.Value.Station, session.SessionId, session.PatientCode, labels));

    public void SessionStopped(SessionSummary summary) => recorder.Stop();

    public void MarkerAdded(Marker marker) => recorder.Mark(marker.Label);
}
