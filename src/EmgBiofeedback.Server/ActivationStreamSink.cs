using System.Buffers.Binary;
using System.IO.Pipelines;
using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Server;

/// <summary>
/// One StreamActivation call's response body, written by the activation fan-out's delivery loop (<see
/// cref="FanOut{T}.Attach"/>; Live:WriteLoop): each frame goes in as one gRPC message (the 5-byte length prefix, then
/// the frame's shared encoding with this subscriber's missed_before and channel selection, <see
/// cref="ActivationFrameEncoding"/>) and is flushed at once. A flush that completes at once (the usual case: Kestrel
/// buffers the stream's output) costs no task and no wake-up; while one waits (a burst of frames, a client that reads
/// slowly: HTTP/2 flow control), the frames offered meanwhile wait in a backlog of Live:SubscriberQueueFrames and go
/// out when it completes; beyond that they are missed, counted and reported in the next frame's missed_before, as a
/// full queue does on the other path. The bytes on the wire are those grpc-dotnet writes
/// for the same message (tested); grpc-dotnet still writes the call's headers and trailers.
/// </summary>
internal sealed class ActivationStreamSink(PipeWriter body, int[]? channels, DeliveryLatency latency, int backlogFrames = 8) : IFanOutSink<ActivationFrame>
{
    private const int MessagePrefix = 5; // compressed flag (0), then the message length, big-endian

    private readonly Lock _gate = new();
    // Frames that came while a flush was waiting (a burst after a stall, a slow reader): written when it completes.
    private readonly Queue<(ActivationFrame Frame, long Missed)> _backlog = new(backlogFrames);
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
            if (_pending is { IsCompleted: false } || _backlog.Count > 0)
            {
                if (_backlog.Count >= backlogFrames)
                {
                    return false; // the backlog is full: this frame is missed (counted, and told in missed_before)
                }
                _backlog.Enqueue((frame, missedBefore));
                return true;
            }
            Send(frame, missedBefore);
            return true;
        }
    }

    /// <summary>Writes and flushes one frame (under the gate); a flush that waits continues in <see cref="FlushLaterAsync"/>.</summary>
    private void Send(ActivationFrame frame, long missedBefore)
    {
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
            ResponseOver(); // the client reset the stream, the server is stopping
        }
    }

    /// <summary>The response can take no more (under the gate): nothing more is written, the call may end.</summary>
    private void ResponseOver()
    {
        _closed = true;
        _backlog.Clear();
        _ended.TrySetResult();
    }

    /// <summary>After a waiting flush: the backlog's frames, while their flushes complete at once (under the gate).</summary>
    private void SendBacklog()
    {
        while (!_closed && _backlog.TryDequeue(out (ActivationFrame Frame, long Missed) next))
        {
            Send(next.Frame, next.Missed);
            if (_pending is { IsCompleted: false })
            {
                return;
            }
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
            _backlog.Clear();
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
            ResponseOver();
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
                _pending = null;
                Flushed(result, frame);
                SendBacklog();
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            lock (_gate)
            {
                ResponseOver();
            }
        }
    }
}
