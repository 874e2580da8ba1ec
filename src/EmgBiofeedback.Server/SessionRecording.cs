using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server;

/// <summary>
/// Every session is recorded: a BDF+ file opens when it starts and closes when it stops; markers go in as annotations.
/// A marker the recording has no room for is counted by the recorder (<see cref="Recorder.AnnotationsLost"/>, the
/// metric emg.recorder.annotations_lost, and "N annotations lost" at the file's end) and logged here.
/// </summary>
internal sealed partial class SessionRecording(Recorder recorder, Microsoft.Extensions.Options.IOptions<RecorderOptions> options,
    Microsoft.Extensions.Logging.ILogger<SessionRecording> logger) : ISessionObserver
{
    public void SessionStarted(Session session, IReadOnlyList<string> labels) =>
        recorder.Start(new RecordingRequest(options.Value.Station, session.SessionId, session.PatientCode, labels));

    public void SessionStopped(SessionSummary summary)
    {
        string? path = recorder.Stop();
        if (recorder.AnnotationsLostInFile > 0)
        {
            AnnotationsLost(logger, path, recorder.AnnotationsLostInFile);
        }
    }

    public void MarkerAdded(Marker marker)
    {
        if (!recorder.Mark(marker.Label))
        {
            MarkerNotRecorded(logger, marker.Label, recorder.AnnotationsLost);
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(301, Microsoft.Extensions.Logging.LogLevel.Warning, "Marker {Label} not recorded: no room left in its second of the recording ({Lost} annotations lost so far)")]
    private static partial void MarkerNotRecorded(Microsoft.Extensions.Logging.ILogger logger, string label, long lost);

    [Microsoft.Extensions.Logging.LoggerMessage(302, Microsoft.Extensions.Logging.LogLevel.Warning, "Recording {Path} closed with {Lost} annotations lost")]
    private static partial void AnnotationsLost(Microsoft.Extensions.Logging.ILogger logger, string? path, long lost);
}
