using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Sessions;

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
    private readonly Lock _clinicalGate = new();
    private readonly List<Action<StreamPosition>> _actions = [];
    private volatile int _pendingActions;

    // The pipeline whose sink method this thread is running now (the acquisition thread, while it delivers a sample or
    // an event), else null. Not a thread id remembered from the last sample: the acquisition loop is async, so the pool
    // thread that ran the last sample is soon any caller's thread (a gRPC handler), which then took itself for the
    // acquisition thread and ran its action at once, on the wrong thread, at no sample (issue 18's end-to-end run).
    [ThreadStatic]
    private static LivePipeline? t_delivering;
    private ClinicalSession? _clinical;
    private ClinicalValue[] _clinicalValues = [];

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

    /// <summary>Raised on the acquisition thread when a new board's chain starts (its first sample comes next).</summary>
    public event Action? ChainStarted;

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
        ChainStarted?.Invoke();
        if (signal.Warnings.Count > 0)
        {
            ChainWarnings?.Invoke(signal.Warnings);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the acquisition thread just before the next sample is processed (by this
    /// pipeline, and by the sinks after it: the recorder), with that sample's position on the chain's timeline. Clinical
    /// actions go through here so that each takes effect at one exact sample, the one their annotation names. When no
    /// sample comes within <paramref name="timeout"/> (board unplugged, a source the chain refused), it runs on the
    /// caller's thread at the position the next sample will have.
    /// </summary>
    public T RunAtNextSample<T>(Func<StreamPosition, T> action, TimeSpan timeout)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        int state = 0; // 0 queued, 1 taken (by the acquisition thread or the caller)
        void Run(StreamPosition p)
        {
            if (Interlocked.Exchange(ref state, 1) != 0)
            {
                return;
            }
            try
            {
                done.SetResult(action(p));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }
        lock (_clinicalGate)
        {
            if (_chain is null || t_delivering == this || AcquisitionLoop.DispatchingOnThisThread)
            {
                // Nothing is processed now (no sample to wait for), or the caller is the acquisition thread itself.
                Chain? current = _chain;
                Run(new StreamPosition(this, current is null || current.NextIndex < 0 ? 0 : current.NextIndex - current.Origin, -1));
                return done.Task.GetAwaiter().GetResult();
            }
            _actions.Add(Run);
            _pendingActions = _actions.Count;
        }
        if (!done.Task.Wait(timeout))
        {
            lock (_clinicalGate)
            {
                _actions.Remove(Run);
                _pendingActions = _actions.Count;
                Chain? chain = _chain;
                Run(new StreamPosition(this, chain is null || chain.NextIndex < 0 ? 0 : chain.NextIndex - chain.Origin, -1));
            }
        }
        return done.Task.GetAwaiter().GetResult();
    }

    /// <summary>The clinical layer of the open session, run on every frame; null between sessions.</summary>
    public ClinicalSession? Clinical
    {
        get { lock (_clinicalGate) { return _clinical; } }
    }

    /// <summary>Sets (or clears) the clinical layer from the next frame on (from the acquisition thread, e.g. on <see cref="ChainStarted"/>).</summary>
    public void AttachClinical(ClinicalSession? clinical)
    {
        lock (_clinicalGate)
        {
            new StreamPosition(this, 0, -1).SetClinical(clinical);
        }
    }

    /// <summary>Reads the clinical session under the lock that the acquisition thread takes to feed it.</summary>
    public T WithClinical<T>(Func<ClinicalSession?, T> read)
    {
        lock (_clinicalGate)
        {
            return read(_clinical);
        }
    }

    /// <summary>What an action run at the next sample may do.</summary>
    public readonly struct StreamPosition(LivePipeline pipeline, long position, long sampleIndex)
    {
        /// <summary>The sample's position on the chain's timeline (0 = the chain's first sample).</summary>
        public long Position { get; } = position;

        /// <summary>The sample's index on the acquisition's timeline; -1 when no sample is flowing (the action ran on the caller's thread).</summary>
        public long SampleIndex { get; } = sampleIndex;

        /// <summary>
        /// Starts the chain afresh at this sample (filters at rest, position 0), so that a session's envelopes start with
        /// its recording's first sample and equal, bit for bit, what an offline run of the recording computes.
        /// </summary>
        public StreamPosition RestartChain()
        {
            Chain? chain = pipeline._chain;
            if (chain is not null)
            {
                chain.Signal.Reset();
                chain.NextIndex = -1; // the next sample becomes the chain's index 0
                chain.BlockFill = 0;
            }
            return new StreamPosition(pipeline, 0, SampleIndex);
        }

        /// <summary>Sets (or clears) the clinical layer run on every frame from this sample on.</summary>
        public void SetClinical(ClinicalSession? clinical)
        {
            pipeline._clinical = clinical;
            pipeline._clinicalValues = clinical is null ? [] : new ClinicalValue[clinical.Setup.ChannelCount];
        }
    }

    /// <summary>The acquisition index of a position on the chain's timeline.</summary>
    public long ToSampleIndex(long position) => (_chain?.Origin ?? 0) + position;

    /// <summary>The stream's sample rate and output rate now, or null before a board is processed.</summary>
    public (int SampleRateHz, double OutputRateHz, double RmsWindowMs)? Stream =>
        _chain is { } c ? (c.Board.SampleRateHz, c.Signal.Design.OutputRateHz, c.Signal.Design.RmsWindowSamples * 1000.0 / c.Board.SampleRateHz) : null;

    /// <summary>A sample instant fed directly (an offline run, a test): it arrives now.</summary>
    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts) => Process(sampleIndex, counts, _time.GetTimestamp());

    /// <summary>32-bit counts: a replayed recording whose digital range does not fit 16 bits (its chain takes them).</summary>
    public void OnSamples(long sampleIndex, ReadOnlySpan<int> counts) => Process(sampleIndex, counts, _time.GetTimestamp());

    /// <summary>A sample instant from the acquisition, with the moment its bytes arrived: its frame carries it.</summary>
    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts, long arrivalTimestamp) => Process(sampleIndex, counts, arrivalTimestamp);

    /// <inheritdoc cref="OnSamples(long, ReadOnlySpan{ushort}, long)"/>
    public void OnSamples(long sampleIndex, ReadOnlySpan<int> counts, long arrivalTimestamp) => Process(sampleIndex, counts, arrivalTimestamp);

    private void Process<TCount>(long sampleIndex, ReadOnlySpan<TCount> counts, long arrivalTimestamp)
        where TCount : unmanaged, System.Numerics.IBinaryInteger<TCount>
    {
        LivePipeline? outer = t_delivering;
        t_delivering = this;
        try
        {
            ProcessSample(sampleIndex, counts, arrivalTimestamp);
        }
        finally
        {
            t_delivering = outer;
        }
    }

    private void ProcessSample<TCount>(long sampleIndex, ReadOnlySpan<TCount> counts, long arrivalTimestamp)
        where TCount : unmanaged, System.Numerics.IBinaryInteger<TCount>
    {
        if (_pendingActions > 0)
        {
            RunActions(sampleIndex);
        }
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
            PublishActivation(chain, chain.Outputs.AsSpan(0, written), arrivalTimestamp);
        }
    }

    private void RunActions(long sampleIndex)
    {
        lock (_clinicalGate)
        {
            foreach (Action<StreamPosition> action in _actions.ToArray())
            {
                Chain? chain = _chain;
                action(new StreamPosition(this, chain is null || chain.NextIndex < 0 ? 0 : sampleIndex - chain.Origin, sampleIndex));
            }
            _actions.Clear();
            _pendingActions = 0;
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

    /// <param name="arrivalTimestamp">When the sample that completed these outputs arrived: each frame's last sample.</param>
    private void PublishActivation(Chain chain, ReadOnlySpan<EnvelopeSample> outputs, long arrivalTimestamp)
    {
        IReadOnlyList<string> labels = Labels;
        int channels = chain.Signal.ChannelCount;
        for (int o = 0; o < outputs.Length; o += channels)
        {
            var muscles = new MuscleActivation[channels];
            ReadOnlySpan<EnvelopeSample> envelopes = outputs.Slice(o, channels);
            lock (_clinicalGate)
            {
                ClinicalSession? clinical = _clinical;
                if (clinical is not null && clinical.Setup.ChannelCount == channels)
                {
                    clinical.Process(envelopes, _clinicalValues);
                }
                for (int c = 0; c < channels; c++)
                {
                    EnvelopeSample s = envelopes[c];
                    ClinicalValue v = clinical is not null && c < _clinicalValues.Length ? _clinicalValues[c] : default;
                    muscles[c] = new MuscleActivation(c, c < labels.Count ? labels[c] : ChannelLabels.Default(c), (float)s.RmsMicrovolts, v.MvcPercent, v.Target, s.Quality, s.IsValid)
                    {
                        TargetSpec = v.Spec,
                    };
                }
            }
            long index = chain.Origin + outputs[o].SampleIndex;
            var frame = new ActivationFrame
            {
                Sequence = ++_activationSequence,
                SampleIndex = index,
                SampleTimeSeconds = index / (double)chain.Board.SampleRateHz,
                ComputedAt = _time.GetUtcNow(),
                ComputedTimestamp = _time.GetTimestamp(),
                ArrivalTimestamp = arrivalTimestamp,
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
