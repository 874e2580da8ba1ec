using System.IO.Pipelines;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// The link the acquisition loop uses, whose source can be changed while it runs (the board, or a replay
/// started over the API). A switch ends the current connection; the loop reconnects, now to the new source,
/// and the sequence numbers tell the pipeline that the stream was interrupted.
/// </summary>
public sealed class SwitchableBoardLink(IBoardLink initial) : IBoardLink
{
    private readonly Lock _gate = new();
    private IBoardLink _target = initial;
    private Connection? _current;
    private long _generation;

    /// <summary>+1 per switch: the loop compares it on every connect to know a new source follows.</summary>
    public long SourceGeneration => Interlocked.Read(ref _generation);

    public IBoardLink Target
    {
        get { lock (_gate) { return _target; } }
    }

    public string Description => Target.Description;

    /// <summary>The kind of the source it is switched to now.</summary>
    public SourceKind Kind => Target.Kind;

    public async ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        long generation = SourceGeneration;
        IBoardLink target = Target;
        IBoardConnection inner = await target.ConnectAsync(cancellationToken).ConfigureAwait(false);
        var connection = new Connection(inner, inner.Kind ?? target.Kind);
        lock (_gate)
        {
            _current = connection;
        }
        if (SourceGeneration != generation)
        {
            connection.Interrupt(); // switched while connecting: this connection is to the old source
        }
        return connection;
    }

    /// <summary>Makes <paramref name="next"/> the source and drops the current connection so the loop moves to it.</summary>
    public Task SwitchToAsync(IBoardLink next)
    {
        Connection? current;
        lock (_gate)
        {
            _target = next;
            current = _current;
            Interlocked.Increment(ref _generation);
        }
        current?.Interrupt();
        return Task.CompletedTask;
    }

    private sealed class Connection(IBoardConnection inner, SourceKind kind) : IBoardConnection
    {
        public SourceKind? Kind => kind;

        private int _ended;

        public PipeReader Input => inner.Input;

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => inner.SendAsync(frame, cancellationToken);

        public IReadOnlyList<Protocol.ChannelScale>? Scales => inner.Scales;

        public ByteArrivals? Arrivals => inner.Arrivals;

        /// <summary>
        /// Ends this connection for its reader: the loop's pending (or next) read returns cancelled, the loop stops reading
        /// it, disposes it on its own thread and reconnects, now to the new source. The switching thread never disposes a
        /// connection that is being read (that returned the pipe's buffers under the decoder's feet).
        /// </summary>
        public void Interrupt()
        {
            try
            {
                inner.Input.CancelPendingRead();
            }
            catch (InvalidOperationException)
            {
                // Already completed by its reader: nothing to interrupt.
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
