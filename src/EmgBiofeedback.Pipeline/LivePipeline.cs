using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Pipeline;

/// <summary>
/// The live chain behind every display: takes the decoded stream from the acquisition, runs each board's
/// <see cref="SignalChain"/>, and publishes activation frames at the output rate, waveform blocks of about
/// 20 ms and events, each through a bounded <see cref="FanOut{T}"/>. Runs on the acquisition thread and
/// never waits for a subscriber.
/// </summary>
public sealed class LivePipeline : IAcquisitionSink
{
    /// <summary>Waveform blocks per second: 20 ms blocks, so a trace view updates smoothly.</summary>
    public const int WaveformBlocksPerSecond = 50;

    private readonly SignalChainOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private IReadOnlyList<string> _labels;
    private Chain? _chain;
    private ulong _activationSequence;
    private ulong _waveformSequence;
    private ulong _eventSequence;
    private ActivationFrame? _latest;
    private SourceKind _source;

    public LivePipeline(SignalChainOptions options, IReadOnlyList<string> labels, TimeProvider time)
    {
        _options = options;
        _labels = labels;
        _time = time;
    }

    public FanOut<ActivationFrame> Activation { get; } = new();
    public FanOut<WaveformBlock> Waveforms { get; } = new();
    public FanOut<LiveEvent> Events { get; } = new();

    /// <summary>Raised on the acquisition thread when a board's chain is (re)built, with the design's warnings.</summary>
    public event Action<IReadOnlyList<string>>? ChainWarnings;

    /// <summary>Why the current board's samples are not processed (the chain refused its rate or scale), or null.</summary>
    public string? Refused { get; private set; }

    /// <summary>The newest activation frame, for status displays; null before the first.</summary>
    public ActivationFrame? Latest => Volatile.Read(ref _latest);

    /// <summary>Activation frames per second; 0 before a board has identified itself.</summary>
    public double OutputRateHz => _chain?.Signal.Design.OutputRateHz ?? 0;

    public int ChannelCount => _chain?.Signal.ChannelCount ?? 0;

    public IReadOnlyList<string> Labels
    {
        get { lock (_gate) { return _labels; } }
    }

    /// <summary>Names the channels (a session's montage); takes effect with the next frame.</summary>
    public void SetLabels(IReadOnlyList<string> labels)
    {
        lock (_gate)
        {
            _labels = labels;
        }
    }

    public void OnBoard(BoardInfo board)
    {
        if (_chain is { } current && current.Matches(board))
        {
            return;
        }
        // A source that knows its calibration (a replayed recording) is converted with it; only the station's own board
        // is converted with the configured sensor gain.
        SignalChain signal;
        try
        {
            signal = board.Scales is { } scales
                ? new SignalChain(_options, board.SampleRateHz, scales)
                : new SignalChain(_options, board.SampleRateHz, board.ChannelCount, board.AdcBits, board.ReferenceMillivolts);
        }
        catch (ArgumentException e)
        {
            // A board the chain cannot filter (a rate below what the band-pass needs, ...): no activation from it, an
            // event that says why, and the station goes on (the recorder still records what the board sends).
            _chain = null;
            Refused = e.Message;
            Publish(new LiveEvent(0, StationEventKind.SourceRefused, _time.GetUtcNow(),
                $"Board {board.BoardName} ({board.ChannelCount} ch x {board.SampleRateHz} Hz) cannot be processed: {e.Message}"));
            return;
        }
        Refused = null;
        _chain = new Chain(board, signal);
        if (signal.Warnings.Count > 0)
        {
            ChainWarnings?.Invoke(signal.Warnings);
        }
    }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts) => Process(sampleIndex, counts);

    /// <summary>32-bit counts: a replayed recording whose digital range does not fit 16 bits (its chain takes them).</summary>
    public void OnSamples(long sampleIndex, ReadOnlySpan<int> counts) => Process(sampleIndex, counts);

    private void Process<TCount>(long sampleIndex, ReadOnlySpan<TCount> counts)
        where TCount : unmanaged, System.Numerics.IBinaryInteger<TCount>
    {
        Chain? chain = _chain;
        if (chain is null)
        {
            return;
        }
        if (chain.NextIndex < 0)
        {
            chain.NextIndex = sampleIndex; // the chain's index 0 is this instant on the acquisition's timeline
            chain.Origin = sampleIndex;
        }
        Span<double> filtered = chain.FilteredFrame;
        int written = typeof(TCount) == typeof(ushort)
            ? chain.Signal.Process(System.Runtime.InteropServices.MemoryMarshal.Cast<TCount, ushort>(counts), chain.Outputs, filtered)
            : chain.Signal.Process(System.Runtime.InteropServices.MemoryMarshal.Cast<TCount, int>(counts), chain.Outputs, filtered);
        chain.NextIndex = sampleIndex + 1;
        AppendToWaveform(chain, sampleIndex, counts, filtered);
        if (written > 0)
        {
            PublishActivation(chain, chain.Outputs.AsSpan(0, written));
        }
    }

    public void OnGap(SampleGap gap)
    {
        Chain? chain = _chain;
        if (chain is not null && chain.NextIndex >= 0 && gap.Lost > 0)
        {
            chain.Signal.MarkGap(gap.Lost);
            chain.NextIndex += gap.Lost;
            chain.BlockFill = 0; // a trace block never spans a hole
        }
    }

    public void OnEvent(AcquisitionEvent e)
    {
        if (e.Kind == StationEventKind.Connected && e.Source is { } source)
        {
            _source = source; // every frame from now on was computed from this source's samples
        }
        if (e.Kind == StationEventKind.SourceChanged)
        {
            _chain = null; // the next board gets fresh filters: never filter across two sources
        }
        Publish(new LiveEvent(0, e.Kind, e.Time, e.Message)
        {
            LostSamples = e.Gap?.Lost ?? 0,
            Estimated = e.Gap?.Estimated ?? false,
            SampleIndex = e.Gap?.NextSampleIndex ?? 0,
        });
    }

    /// <summary>Publishes a session or marker event; returns it with its sequence number.</summary>
    public LiveEvent Publish(LiveEvent e)
    {
        LiveEvent numbered = e with { Sequence = Interlocked.Increment(ref _eventSequence) };
        Events.Publish(numbered);
        return numbered;
    }

    /// <summary>The sample index the next frame will have (for markers); -1 before any sample.</summary>
    public long CurrentSampleIndex => _chain?.NextIndex ?? -1;

    private void PublishActivation(Chain chain, ReadOnlySpan<EnvelopeSample> outputs)
    {
        IReadOnlyList<string> labels = Labels;
        int channels = chain.Signal.ChannelCount;
        for (int o = 0; o < outputs.Length; o += channels)
        {
            var muscles = new MuscleActivation[channels];
            for (int c = 0; c < channels; c++)
            {
                EnvelopeSample s = outputs[o + c];
                muscles[c] = new MuscleActivation(c, c < labels.Count ? labels[c] : $"CH{c + 1}", (float)s.RmsMicrovolts, null, TargetState.Unspecified, s.Quality, s.IsValid);
            }
            long index = chain.Origin + outputs[o].SampleIndex;
            var frame = new ActivationFrame
            {
                Sequence = ++_activationSequence,
                SampleIndex = index,
                SampleTimeSeconds = index / (double)chain.Board.SampleRateHz,
                ComputedAt = _time.GetUtcNow(),
                ComputedTimestamp = _time.GetTimestamp(),
                Muscles = muscles,
                Source = _source,
            };
            Volatile.Write(ref _latest, frame);
            Activation.Publish(frame);
        }
    }

    private void AppendToWaveform<TCount>(Chain chain, long sampleIndex, ReadOnlySpan<TCount> counts, ReadOnlySpan<double> filtered)
        where TCount : unmanaged, System.Numerics.IBinaryInteger<TCount>
    {
        if (Waveforms.SubscriberCount == 0)
        {
            chain.BlockFill = 0;
            return;
        }
        int channels = counts.Length;
        if (chain.BlockFill == 0)
        {
            chain.BlockStart = sampleIndex;
        }
        int at = chain.BlockFill * channels;
        IReadOnlyList<double> scale = chain.Signal.Design.MicrovoltsPerCount;
        IReadOnlyList<double> offset = chain.Signal.Design.AdcOffsetCounts;
        for (int c = 0; c < channels; c++)
        {
            chain.BlockFiltered[at + c] = (float)filtered[c];
            chain.BlockRaw[at + c] = (float)((double.CreateTruncating(counts[c]) - offset[c]) * scale[c]);
        }
        if (++chain.BlockFill < chain.BlockFrames)
        {
            return;
        }
        chain.BlockFill = 0;
        Waveforms.Publish(new WaveformBlock
        {
            Sequence = ++_waveformSequence,
            FirstSampleIndex = chain.BlockStart,
            SampleRateHz = chain.Board.SampleRateHz,
            Channels = channels,
            Frames = chain.BlockFrames,
            Filtered = chain.BlockFiltered.ToArray(),
            Raw = chain.BlockRaw.ToArray(),
        });
    }

    /// <summary>One board's chain and its buffers, sized once when the board identifies itself.</summary>
    private sealed class Chain
    {
        public Chain(BoardInfo board, SignalChain signal)
        {
            Board = board;
            Signal = signal;
            Outputs = new EnvelopeSample[board.ChannelCount]; // one frame ends at most one output instant
            FilteredFrame = new double[board.ChannelCount];
            BlockFrames = Math.Max(1, board.SampleRateHz / WaveformBlocksPerSecond);
            BlockFiltered = new float[BlockFrames * board.ChannelCount];
            BlockRaw = new float[BlockFrames * board.ChannelCount];
        }

        public BoardInfo Board { get; }
        public SignalChain Signal { get; }
        public EnvelopeSample[] Outputs { get; }
        public double[] FilteredFrame { get; }
        public int BlockFrames { get; }
        public float[] BlockFiltered { get; }
        public float[] BlockRaw { get; }
        public int BlockFill { get; set; }
        public long BlockStart { get; set; }
        public long NextIndex { get; set; } = -1;
        public long Origin { get; set; }

        public bool Matches(BoardInfo other) =>
            other.ChannelCount == Board.ChannelCount && other.SampleRateHz == Board.SampleRateHz &&
            other.AdcBits == Board.AdcBits && other.ReferenceMillivolts == Board.ReferenceMillivolts &&
            (ReferenceEquals(other.Scales, Board.Scales) || (other.Scales is not null && Board.Scales is not null && other.Scales.SequenceEqual(Board.Scales)));
    }
}
