using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.History;

/// <summary>
/// The one definition of which series an activation point belongs to, shared by the live writer and back-fill:
/// tag values are taken in the form the session's recording keeps them (EDF+ header subfields and signal labels,
/// as <c>RecordingLayout.BuildHeader</c> writes them), so a back-fill from the recording names exactly the series
/// the live writer wrote. Muscle and side come from the channel label (which a session's montage sets).
/// </summary>
public static class HistorySeries
{
    /// <summary>The longest header subfield (session, patient code, station) the recording keeps (RecordingLayout.FieldLength).</summary>
    public const int FieldLength = 32;

    /// <summary>
    /// A session id, patient code or station as the recording's header keeps it: trimmed, characters outside
    /// printable ASCII and spaces replaced by '_', at most <see cref="FieldLength"/> characters, "X" when empty.
    /// Must stay the same rule as RecordingLayout's header subfields (a test compares them).
    /// </summary>
    public static string RecordedField(string? value)
    {
        string t = new((value ?? "").Trim().Select(c => c is > ' ' and <= '~' ? c : '_').ToArray());
        return t.Length == 0 ? "X" : t.Length <= FieldLength ? t : t[..FieldLength];
    }

    /// <summary>The <c>muscle</c> and <c>side</c> tags of a channel: from its label as the recording keeps it.</summary>
    public static (string Muscle, Side Side) Identify(string? label, int channel) => ChannelLabels.Parse(ChannelLabels.Recorded(label, channel));
}

/// <summary>
/// The time of a recorded session's points: the recording's own timeline (its header's start time, whole seconds,
/// plus sample position / rate), on a grid of one slot per output period counted from the recording's first
/// sample. A point is stamped with the last sample instant of its slot, so the live writer (whose output ticks fall
/// wherever the signal chain started) and a back-fill replaying the recording from its first sample give every
/// output period the same timestamp, to the nanosecond.
/// </summary>
/// <param name="RecordingStart">The recording header's start time (the station's local clock, whole seconds).</param>
/// <param name="FirstSampleIndex">The acquisition's sample index of the recording's first sample (0 in a replay of the file).</param>
/// <param name="SampleRateHz">Samples per second.</param>
/// <param name="Decimation">Samples per output period (sample rate / output rate, rounded as the signal chain does).</param>
public sealed record SessionTimeline(DateTimeOffset RecordingStart, long FirstSampleIndex, int SampleRateHz, int Decimation)
{
    public static SessionTimeline Create(DateTimeOffset recordingStart, long firstSampleIndex, int sampleRateHz, double outputRateHz) =>
        new(recordingStart, firstSampleIndex, sampleRateHz, Math.Max(1, (int)Math.Round(sampleRateHz / outputRateHz)));

    /// <summary>
    /// The live side's timeline of a recording the recorder has just opened: its start is the local time now cut to
    /// the whole second (as the recorder stamps its header), its first sample the acquisition's next sample minus
    /// the instants the recorder already holds.
    /// </summary>
    public static SessionTimeline ForOpenedRecording(DateTimeOffset localNow, long nextSampleIndex, long recordedInstants, int sampleRateHz, double outputRateHz) =>
        Create(localNow.AddTicks(-(localNow.Ticks % TimeSpan.TicksPerSecond)), nextSampleIndex - recordedInstants, sampleRateHz, outputRateHz);

    /// <summary>Unix ns of the output period holding <paramref name="sampleIndex"/> (its last sample instant).</summary>
    public long ToUnixNs(long sampleIndex)
    {
        long position = sampleIndex - FirstSampleIndex;
        long slot = position >= 0 ? position / Decimation : ((position + 1) / Decimation) - 1;
        long instant = (slot * Decimation) + Decimation - 1;
        return SampleClock.ToUnixNs(RecordingStart) + (long)((Int128)instant * 1_000_000_000 / SampleRateHz);
    }
}
