using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>Keeps everything the acquisition delivered, for assertions.</summary>
public sealed class RecordingSink : IAcquisitionSink
{
    private readonly Lock _gate = new();
    private readonly List<(long Index, ushort[] Counts)> _samples = [];
    private readonly List<(long Arrival, long Received)> _arrivals = [];
    private readonly List<SampleGap> _gaps = [];
    private readonly List<BoardInfo> _boards = [];
    private readonly List<AcquisitionEvent> _events = [];

    public int SampleCount { get { lock (_gate) { return _samples.Count; } } }

    public IReadOnlyList<(long Index, ushort[] Counts)> Samples { get { lock (_gate) { return _samples.ToArray(); } } }

    /// <summary>Per sample, in the order of <see cref="Samples"/>: when its bytes arrived, and when it reached this sink (Stopwatch timestamps).</summary>
    public IReadOnlyList<(long Arrival, long Received)> Arrivals { get { lock (_gate) { return _arrivals.ToArray(); } } }
    public IReadOnlyList<SampleGap> Gaps { get { lock (_gate) { return _gaps.ToArray(); } } }
    public IReadOnlyList<BoardInfo> Boards { get { lock (_gate) { return _boards.ToArray(); } } }
    public IReadOnlyList<AcquisitionEvent> Events { get { lock (_gate) { return _events.ToArray(); } } }

    public int Count(StationEventKind kind) => Events.Count(e => e.Kind == kind);

    public void OnBoard(BoardInfo board) { lock (_gate) { _boards.Add(board); } }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts) => OnSamples(sampleIndex, counts, 0);

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts, long arrivalTimestamp)
    {
        long received = System.Diagnostics.Stopwatch.GetTimestamp();
        ushort[] copy = counts.ToArray();
        lock (_gate)
        {
            _samples.Add((sampleIndex, copy));
            _arrivals.Add((arrivalTimestamp, received));
        }
    }

    public void OnGap(SampleGap gap) { lock (_gate) { _gaps.Add(gap); } }

    public void OnEvent(AcquisitionEvent acquisitionEvent) { lock (_gate) { _events.Add(acquisitionEvent); } }
}
