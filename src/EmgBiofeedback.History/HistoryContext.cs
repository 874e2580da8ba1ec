namespace EmgBiofeedback.History;

/// <summary>
/// The session that frames belong to. Only the pseudonymous patient code is written, never a name.
/// <paramref name="Station"/>: the station the session's recording names (default: History:Station).
/// <paramref name="Timeline"/>: the recording's timeline, when the session is recorded; its points are then stamped
/// on it (<see cref="SessionTimeline"/>) so that a back-fill from the recording lands on the same timestamps.
/// </summary>
public sealed record HistorySession(string SessionId, string PatientCode, string? Station = null, SessionTimeline? Timeline = null)
{
    /// <summary>The source a back-fill's recording says its samples came from; null: each frame's own source.</summary>
    public EmgBiofeedback.Acquisition.SourceKind? Source { get; init; }
}

/// <summary>Tells the writer which session is running; the clinical layer implements it.</summary>
public interface IHistorySessionProvider
{
    /// <summary>The running session, or null (points are then tagged session=none, patient=none).</summary>
    HistorySession? Current { get; }

    /// <summary>The session of the frame whose last sample is <paramref name="sampleIndex"/> (default: the running one).</summary>
    HistorySession? For(long sampleIndex) => Current;
}

/// <summary>A provider with a settable session: for tests, back-fill and hosts without a session layer.</summary>
public sealed class FixedSessionProvider(HistorySession? session = null) : IHistorySessionProvider
{
    private HistorySession? _session = session;

    public HistorySession? Current
    {
        get => Volatile.Read(ref _session);
        set => Volatile.Write(ref _session, value);
    }
}
