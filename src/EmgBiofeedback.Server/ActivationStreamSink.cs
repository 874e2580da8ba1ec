using System.Buffers.Binary;
using System.IO.Pipelines;
using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Server;

/// <summary>
/// One StreamActivation call's response body, written by the activation fan-out's delivery loop (<see
/// cref="FanOut{T}.Attach"/>; Live:WriteLoop): each frame goes in as one gRPC message (the 5-byte length prefix, then
/// the frame's shared encoding with this subscriber's missed_before and channel selection, <see
/// cref="ActivationFrameEncoding"/>) and is flushed at once. A flush that completes at once (the usual case: Kestrel
/// buffers the stream's output) costs no task and no wake-up; one that waits (the client reads slowly: HTTP/2 flow
/// control) makes the sink busy, and the frames offered meanwhile are missed, counted and reported in the next
/// frame's missed_before, as a full queue does on the other path. The bytes on the wire are those grpc-dotnet writes
/// for the same message (tested); grpc-dotnet still writes the call's headers and trailers.
/// </summary>
internal sealed class ActivationStreamSink(PipeWriter body, int[]? channels, DeliveryLatency latency) : IFanOutSink<ActivationFrame>
{
    private const int MessagePrefix = 5; // compressed flag (0), then the message length, big-endian

    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _pending;
    private bool _closed;

    /// <summary>Completes when the stream can take no more (the client went away, or a write failed).</summary>
    public Task Ended => _ended.Task;

    public bool TryDeliver(ActivationFrame frame, long missedBefore)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return true; // the call is over: nothing more is owed to this stream
            }
            if (_pending is { IsCompleted: false })
            {
                return false;
            }
            try
            {
                Write(frame, (uint)Math.Min(missedBefore, uint.MaxValue));
                ValueTask<FlushResult> flush = body.FlushAsync();
                if (flush.IsCompletedSuccessfully)
                {
                    Flushed(flush.Result, frame);
                }
                else
                {
                    _pending = FlushLaterAsync(flush, frame);
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
            {
                // The response is over (the client reset the stream, the server is stopping).
                _closed = true;
                _ended.TrySetResult();
            }
            return true;
        }
    }

    /// <summary>
    /// No more frames: after this returns, the sink writes nothing more (a flush still waiting is cancelled and awaited),
    /// so grpc-dotnet can end the call. Call after detaching the sink.
    /// </summary>
    public async Task CloseAsync()
    {
        Task? pending;
        lock (_gate)
        {
            _closed = true;
            pending = _pending;
        }
        if (pending is { IsCompleted: false })
        {
            body.CancelPendingFlush();
            await pending.ConfigureAwait(false);
        }
    }

    private void Write(ActivationFrame frame, uint missedBefore)
    {
        ActivationFrameEncoding encoding = ActivationFrameEncoding.Of(frame);
        int size = encoding.SizeFor(missedBefore, channels);
        Span<byte> span = body.GetSpan(MessagePrefix + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        int written = encoding.WriteTo(span[MessagePrefix..], missedBefore, channels);
        body.Advance(MessagePrefix + written);
    }

    private void Flushed(FlushResult result, ActivationFrame frame)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            _closed = true;
            _ended.TrySetResult();
            return;
        }
        latency.Delivered(frame);
    }

    private async Task FlushLaterAsync(ValueTask<FlushResult> flush, ActivationFrame frame)
    {
        try
        {
            FlushResult result = await flush.ConfigureAwait(false);
            lock (_gate)
            {
                Flushed(result, frame);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            lock (_gate)
            {
                _closed = true;
                _ended.TrySetResult();
            }
        }
    }
}
