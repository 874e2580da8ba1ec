using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition;

/// <summary>Why sample instants are missing.</summary>
public enum GapCause
{
    /// <summary>Frames lost on the line or the board (counted exactly by the sequence numbers).</summary>
    SequenceGap,
    /// <summary>The board restarted (reset on reconnect, watchdog): the count is estimated from the time that passed.</summary>
    BoardRestarted,
}

/// <summary>
/// <paramref name="Lost"/> sample instants are missing before the instant <paramref name="NextSampleIndex"/>;
/// downstream must not filter across them as if they were contiguous.
/// </summary>
public readonly record struct SampleGap(long NextSampleIndex, long Lost, GapCause Cause)
{
    public bool Estimated => Cause == GapCause.BoardRestarted;
}

/// <summary>
/// The station's one event vocabulary: what the acquisition reports, what the pipeline and the sessions publish, and
/// (translated one to one) what the API streams as emg.v1.EventKind.
/// </summary>
public enum StationEventKind
{
    Connected,
    Disconnected,
    BoardIdentified,
    Gap,
    BoardOverflow,
    CommandRejected,
    SessionStarted,
    SessionStopped,
    Marker,
    /// <summary>The operator switched the source (board <-> replay): what follows is a new stream.</summary>
    SourceChanged,
    /// <summary>A source the station will not run (a replay it cannot play, a board the chain cannot filter); the
    /// message says why, and the station goes on with what it had.</summary>
    SourceRefused,
    /// <summary>A protocol phase begins (phase, trial n of N, seconds, instruction), or the protocol ends.</summary>
    ProtocolPhase,
    /// <summary>A guided calibration step begins: what the patient should do now.</summary>
    CalibrationPrompt,
    /// <summary>A calibration step ended: accepted, or refused with the reason per channel.</summary>
    CalibrationResult,
    /// <summary>A target was set or cleared.</summary>
    TargetSet,
    /// <summary>Other clinical information: a stored calibration reused, an outcome score, a protocol resumed.</summary>
    Clinical,
    /// <summary>The session's recording stopped before the session (its file cannot be written: disk full, folder gone);
    /// the session goes on live, and what is not recorded is counted.</summary>
    RecordingStopped,
}

/// <summary>Something a clinician or an operator should know happened to the acquisition.</summary>
public sealed record AcquisitionEvent(StationEventKind Kind, DateTimeOffset Time, string Message)
{
    public SampleGap? Gap { get; init; }
    public BoardInfo? Board { get; init; }

    /// <summary>On <see cref="StationEventKind.Connected"/>: the kind of source connected (what its samples are).</summary>
    public SourceKind? Source { get; init; }
}

/// <summary>
/// Receives the decoded stream. Called on the acquisition thread, in stream order; implementations must
/// be quick and must not block (hand work to a bounded queue if it is slow).
/// </summary>
public interface IAcquisitionSink
{
    /// <summary>The board identified itself (first connect, a reconnect, a change of rate or channels).</summary>
    void OnBoard(BoardInfo board);

    /// <summary>One sample instant: ADC counts per channel, valid only during the call.</summary>
    void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts);

    /// <summary>
    /// One sample instant of 32-bit counts: a replayed recording whose digital range does not fit 16 bits (its scales
    /// come with the board description). A sink that cannot take them says so; it is never silently fed nothing.
    /// </summary>
    void OnSamples(long sampleIndex, ReadOnlySpan<int> counts) =>
        throw new NotSupportedException($"{GetType().Name} takes 16-bit counts only.");

    /// <summary>
    /// One sample instant with the moment the bytes that carried it reached the host (<see cref="TimeProvider.GetTimestamp"/>
    /// of the acquisition's clock): what the acquisition loop calls. A sink that measures latency takes this one; by
    /// default the arrival is not needed.
    /// </summary>
    void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts, long arrivalTimestamp) => OnSamples(sampleIndex, counts);

    /// <inheritdoc cref="OnSamples(long, ReadOnlySpan{ushort}, long)"/>
    void OnSamples(long sampleIndex, ReadOnlySpan<int> counts, long arrivalTimestamp) => OnSamples(sampleIndex, counts);

    /// <summary>Instants are missing before the next <see cref="OnSamples"/>.</summary>
    void OnGap(SampleGap gap);

    void OnEvent(AcquisitionEvent acquisitionEvent);
}
