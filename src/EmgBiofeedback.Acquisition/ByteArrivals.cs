using System.IO.Pipelines;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// When the bytes of one connection reached the host. The connection's reader (the serial port's read thread, the
/// simulated board) records each batch of bytes it hands on with the monotonic timestamp of its arrival; the acquisition
/// loop, which knows how many bytes of the connection precede the end of each frame it decodes, asks when that byte
/// arrived: the arrival of the frame's last sample, where the service's latency starts. One writer, one reader, a fixed
/// ring: nothing is allocated per batch or per frame.
/// </summary>
public sealed class ByteArrivals
{
    /// <summary>
    /// Batches remembered. A decoder more than this many batches behind its reader (seconds of data) gets the oldest
    /// arrival still known, which is later than the true one: the latency is then under-stated, never invented.
    /// </summary>
    public const int Capacity = 1024;

    private const int Margin = 64;

    private readonly long[] _ends = new long[Capacity];
    private readonly long[] _timestamps = new long[Capacity];
    private long _recorded; // batches recorded; written by the writer only, published with a release
    private long _received; // writer only: bytes of the connection so far
    private long _next;     // reader only: the first batch the next question may concern

    /// <summary>
    /// The writer: <paramref name="count"/> more bytes arrived at <paramref name="timestamp"/>
    /// (<see cref="TimeProvider.GetTimestamp"/>). Call it before the bytes become visible to the decoder.
    /// </summary>
    public void Record(long count, long timestamp)
    {
        if (count <= 0)
        {
            return;
        }
        _received += count;
        long n = _recorded;
        int slot = (int)(n & (Capacity - 1));
        _ends[slot] = _received;
        _timestamps[slot] = timestamp;
        Volatile.Write(ref _recorded, n + 1);
    }

    /// <summary>
    /// The reader: when the byte that ends at <paramref name="position"/> (bytes of the connection up to and including
    /// it) arrived. Positions asked must not decrease. False when no batch recorded so far contains it.
    /// </summary>
    public bool TryGetArrival(long position, out long timestamp)
    {
        long recorded = Volatile.Read(ref _recorded);
        // Batches near the writer's next overwrite are skipped: the writer would have to record Margin batches (each a
        // read of the port) while two numbers are read here before a slot could change under the reader.
        long oldestSafe = recorded - Capacity + Margin;
        if (_next < oldestSafe)
        {
            _next = oldestSafe; // the decoder lagged: the oldest arrival kept
        }
        for (; _next < recorded; _next++)
        {
            int slot = (int)(_next & (Capacity - 1));
            if (_ends[slot] >= position)
            {
                timestamp = _timestamps[slot];
                return true;
            }
        }
        timestamp = 0;
        return false;
    }

    /// <summary>
    /// A writer over <paramref name="inner"/> that records, at each flush, the bytes written since the previous one as
    /// arriving now: for an in-process source (the simulated board), whose flush is the moment its bytes are sent.
    /// </summary>
    public PipeWriter Stamping(PipeWriter inner, TimeProvider time) => new StampingWriter(inner, this, time);

    private sealed class StampingWriter(PipeWriter inner, ByteArrivals arrivals, TimeProvider time) : PipeWriter
    {
        private long _pending;

        public override void Advance(int bytes)
        {
            inner.Advance(bytes);
            _pending += bytes;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            arrivals.Record(_pending, time.GetTimestamp());
            _pending = 0;
            return inner.FlushAsync(cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
