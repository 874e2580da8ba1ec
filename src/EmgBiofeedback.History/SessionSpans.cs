namespace EmgBiofeedback.History;

/// <summary>
/// Which session a frame belongs to, by the acquisition index of its last sample: a session holds the samples from its
/// first (its recording's first) up to the sample its recording ended before. The writer reads frames from a queue, so
/// a frame may be read after its session stopped, or may have been computed just before a session that started while
/// it waited: each is tagged by its samples, not by when it was read, which is how a back-fill of the recording tags
/// it. Told of sessions on the acquisition thread (<see cref="Started"/>, <see cref="Ended"/>, then <see
/// cref="Stopped"/> from the caller); asked by the one writer, in frame order (<see cref="For"/>).
/// </summary>
public sealed class SessionSpans : IHistorySessionProvider
{
    private sealed record Span(HistorySession Session, long From, long To);

    private Span? _open;  // the running session; To is long.MaxValue until its end is known
    private Span? _ended; // the session stopped last, while frames of it may still be waiting to be read

    /// <summary>The running session (for events: start, markers, stop), or null.</summary>
    public HistorySession? Current => Volatile.Read(ref _open)?.Session;

    /// <param name="firstSampleIndex">The session's first sample; -1 when not known (then every frame read from now on is the session's).</param>
    public void Started(HistorySession session, long firstSampleIndex) =>
        Volatile.Write(ref _open, new Span(session, firstSampleIndex >= 0 ? firstSampleIndex : long.MinValue, long.MaxValue));

    /// <param name="endSampleIndex">The first sample after the session's last; -1 when no sample was flowing (no frame of the session is still to come).</param>
    public void Ended(long endSampleIndex)
    {
        if (Volatile.Read(ref _open) is { } open)
        {
            Volatile.Write(ref _open, open with { To = endSampleIndex >= 0 ? endSampleIndex : long.MinValue });
        }
    }

    /// <summary>The session is over: its frames still in the queue keep its tag; a session whose end was never told tags no more frames.</summary>
    public void Stopped()
    {
        if (Volatile.Read(ref _open) is { } open && open.To != long.MaxValue)
        {
            Volatile.Write(ref _ended, open);
        }
        Volatile.Write(ref _open, null);
    }

    /// <summary>The session the frame whose last sample is <paramref name="sampleIndex"/> belongs to, or null.</summary>
    public HistorySession? For(long sampleIndex)
    {
        if (Volatile.Read(ref _open) is { } open && sampleIndex >= open.From && sampleIndex < open.To)
        {
            return open.Session;
        }
        if (Volatile.Read(ref _ended) is { } ended)
        {
            if (sampleIndex >= ended.From && sampleIndex < ended.To)
            {
                return ended.Session;
            }
            if (sampleIndex >= ended.To)
            {
                // Frames are read in order: none of that session's is still to come (and a later index reset cannot match it).
                Interlocked.CompareExchange(ref _ended, null, ended);
            }
        }
        return null;
    }
}
