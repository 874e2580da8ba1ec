using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;

namespace EmgBiofeedback.Server;

/// <summary>
/// Knows which kind of source produced each activation frame. It listens to the acquisition in stream
/// order (it is one of the loop's sinks): on every connection it notes the source's kind and the sequence
/// number of the first frame that can come from it. Frames already published came from the previous
/// source, so a frame still queued for a slow client when a replay starts keeps its true kind.
/// </summary>
internal sealed class SourceTracker(SwitchableBoardLink link, LivePipeline pipeline) : IAcquisitionSink
{
    // The last few switches are enough: a subscriber queue holds at most Live:SubscriberQueueFrames frames.
    private const int Remembered = 16;

    private volatile Boundary[] _boundaries = [];

    /// <summary>The kind of the station's source now (what it reads, or tries to reach).</summary>
    public SourceKind Current => Of(link);

    /// <summary>The kind of source of the activation frame with this sequence number.</summary>
    public SourceKind KindOf(ulong sequence)
    {
        Boundary[] boundaries = _boundaries;
        for (int i = boundaries.Length - 1; i >= 0; i--)
        {
            if (sequence >= boundaries[i].FirstSequence)
            {
                return boundaries[i].Kind;
            }
        }
        return boundaries.Length > 0 ? boundaries[0].Kind : Current;
    }

    /// <summary>The kind of a link: decided by its type, never by what a board says it is.</summary>
    public static SourceKind Of(IBoardLink link) => link switch
    {
        SwitchableBoardLink switchable => Of(switchable.Target),
        ReplayBoardLink => SourceKind.Replay,
        SimulatedBoardLink => SourceKind.SimulatedBoard,
        SerialBoardLink => SourceKind.SerialBoard,
        _ => throw new NotSupportedException($"No source kind for {link.GetType().Name}."),
    };

    public void OnEvent(AcquisitionEvent acquisitionEvent)
    {
        if (acquisitionEvent.Kind != StationEventKind.Connected)
        {
            return;
        }
        SourceKind kind = Current;
        Boundary[] boundaries = _boundaries;
        if (boundaries.Length > 0 && boundaries[^1].Kind == kind)
        {
            return;
        }
        // Called on the acquisition thread, which is also the one that publishes frames: every frame after
        // the latest one comes from this connection.
        var boundary = new Boundary((pipeline.Latest?.Sequence ?? 0) + 1, kind);
        _boundaries = [.. boundaries.Skip(Math.Max(0, boundaries.Length - Remembered + 1)), boundary];
    }

    public void OnBoard(Protocol.BoardInfo board)
    {
    }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts)
    {
    }

    public void OnGap(SampleGap gap)
    {
    }

    private readonly record struct Boundary(ulong FirstSequence, SourceKind Kind);
}
