using System.Buffers;
using System.IO.Pipelines;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// Keeps a board connected and its stream decoded: connects (retrying with exponential backoff and jitter
/// while the device is absent), identifies and starts the board, decodes frames from the link's pipe, and
/// hands samples, gaps and events to the sinks in stream order. Every sample instant the board counted is
/// either delivered or reported missing in a <see cref="SampleGap"/>; none is invented.
/// </summary>
public sealed class AcquisitionLoop
{
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(3);

    private readonly IBoardLink _link;
    private readonly IAcquisitionSink[] _sinks;
    private readonly AcquisitionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BoardStreamDecoder _decoder = new();
    private readonly byte[] _commandBuffer = new byte[WireFormat.MaxFrameSize];

    private BoardInfo? _lastBoard;
    private long _nextSampleIndex;
    private long _lastFrameTimestamp;
    private uint _overflowReported;
    private bool _helloSinceConnect;
    private long _reconnects;
    private long _helloRequests;
    private long _sourceGeneration;
    private IReadOnlyList<ChannelScale>? _connectionScales;
    private ByteArrivals? _arrivals;    // the current connection's, when its reader stamps them
    private long _bufferStart;          // bytes of the connection before the buffer being decoded
    private long _bufferReadAt;         // when that buffer was read: the arrival when the connection does not say
    private long _frameEnd;             // bytes of the connection up to the end of the frame being dispatched
    private volatile SourceKind _source;
    private volatile bool _connected;

    public AcquisitionLoop(IBoardLink link, IEnumerable<IAcquisitionSink> sinks, AcquisitionOptions options, TimeProvider time, ILogger<AcquisitionLoop> logger)
    {
        _link = link;
        _sinks = sinks.ToArray();
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string LinkDescription => _link.Description;

    /// <summary>The kind of source the loop reads or last read; <see cref="SourceKind.Unknown"/> before the first connection.</summary>
    public SourceKind Source => _source;
    public bool Connected => _connected;
    public BoardInfo? Board => _decoder.Board;
    public DecoderCounters Counters => _decoder.Counters;

    /// <summary>IDENTIFY commands sent again because no HELLO came within 3 s of a connection.</summary>
    public long HelloRequests => Interlocked.Read(ref _helloRequests);

    /// <summary>Connections made after the first one.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>
    /// Sample instants the board itself dropped because its buffer overflowed, as its last OVERFLOW message counted
    /// them: since the board booted, so it starts again from 0 when the board restarts.
    /// </summary>
    public long BoardOverflow => Volatile.Read(ref _overflowReported);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ResiliencePipeline connect = BuildConnectPipeline();
        bool first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            IBoardConnection connection;
            try
            {
                connection = await connect.ExecuteAsync(static (link, ct) => link.ConnectAsync(ct), _link, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            if (!first)
            {
                Interlocked.Increment(ref _reconnects);
            }
            first = false;

            if (_link.SourceGeneration != _sourceGeneration)
            {
                _sourceGeneration = _link.SourceGeneration;
                _decoder.OnSourceChanged();
                _lastBoard = null;
                _lastFrameTimestamp = 0;
                Publish(StationEventKind.SourceChanged, $"Source changed to {_link.Description}");
            }
            await using (connection.ConfigureAwait(false))
            {
                _connectionScales = connection.Scales;
                _source = connection.Kind ?? _link.Kind;
                _connected = true;
                _helloSinceConnect = false;
                string connectedTo = _link.Description; // the source of this connection, whatever the link is switched to later
                AcquisitionLog.Connected(_logger, connectedTo);
                Publish(StationEventKind.Connected, $"Connected to {connectedTo}", source: _source);
                using var connectionScope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task watchdog = AskUntilHelloAsync(connection, connectionScope.Token);

                string reason;
                try
                {
                    await SendOnConnectAsync(connection, cancellationToken).ConfigureAwait(false);
                    reason = await PumpAsync(connection.Input, connection.Arrivals, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or ObjectDisposedException)
                {
                    reason = e.Message;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    reason = "stopping";
                }
                _connected = false;
                await connectionScope.CancelAsync().ConfigureAwait(false);
                await watchdog.ConfigureAwait(false);
                if (!cancellationToken.IsCancellationRequested)
                {
                    AcquisitionLog.Disconnected(_logger, connectedTo, reason);
                    Publish(StationEventKind.Disconnected, $"Lost {connectedTo}: {reason}");
                }
            }
        }
    }

    private ResiliencePipeline BuildConnectPipeline() =>
        new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<IOException>().Handle<UnauthorizedAccessException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = _options.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    // Log the first attempts, then one in ten: an unplugged board must not flood the log.
                    if (args.AttemptNumber < 3 || args.AttemptNumber % 10 == 0)
                    {
                        AcquisitionLog.ConnectFailed(_logger, _link.Description, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "unknown");
                    }
                    return default;
                },
            })
            .Build();

    private async Task SendOnConnectAsync(IBoardConnection connection, CancellationToken cancellationToken)
    {
        if (_options.UsesSerialPort)
        {
            if (_options.Serial.Channels is int channels)
            {
                await SendAsync(connection, FrameEncoder.WriteSetChannels(_commandBuffer, channels), cancellationToken).ConfigureAwait(false);
            }
            if (_options.Serial.SampleRateHz is int rate)
            {
                await SendAsync(connection, FrameEncoder.WriteSetRate(_commandBuffer, rate), cancellationToken).ConfigureAwait(false);
            }
        }
        await SendAsync(connection, FrameEncoder.WriteCommand(_commandBuffer, MessageType.Identify), cancellationToken).ConfigureAwait(false);
        await SendAsync(connection, FrameEncoder.WriteCommand(_commandBuffer, MessageType.Start), cancellationToken).ConfigureAwait(false);
    }

    private ValueTask SendAsync(IBoardConnection connection, int length, CancellationToken cancellationToken) =>
        connection.SendAsync(_commandBuffer.AsMemory(0, length).ToArray(), cancellationToken);

    /// <summary>Decodes until the link's pipe completes; returns why it did.</summary>
    private async Task<string> PumpAsync(PipeReader input, ByteArrivals? arrivals, CancellationToken cancellationToken)
    {
        _arrivals = arrivals;
        long consumedBefore = 0;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _decoder.OnLinkLost(0);
                return e.Message;
            }
            if (result.IsCanceled)
            {
                // The link was switched to another source: this connection's bytes end here, and the loop (its only
                // reader) disposes it; nobody else completes a reader that is being read.
                _decoder.OnLinkLost(0);
                return "source switched";
            }
            ReadOnlySequence<byte> buffer = result.Buffer;
            _bufferReadAt = _time.GetTimestamp();
            _bufferStart = consumedBefore;
            SequencePosition consumed = Decode(buffer, out long unread);
            consumedBefore += buffer.Length - unread;
            if (result.IsCompleted)
            {
                _decoder.OnLinkLost(unread);
                await input.CompleteAsync().ConfigureAwait(false);
                return "end of stream";
            }
            input.AdvanceTo(consumed, buffer.End);
        }
    }

    private SequencePosition Decode(ReadOnlySequence<byte> buffer, out long unread)
    {
        var reader = new SequenceReader<byte>(buffer);
        t_dispatching = true;
        try
        {
            while (_decoder.TryRead(ref reader, out BoardMessage message))
            {
                _frameEnd = _bufferStart + reader.Consumed;
                Dispatch(message);
            }
        }
        finally
        {
            t_dispatching = false;
        }
        unread = reader.Remaining;
        return reader.Position;
    }

    [ThreadStatic]
    private static bool t_dispatching;

    /// <summary>
    /// True while this thread hands the sinks a sample, gap or event (the loop is async: between two reads its thread is
    /// any pool thread). A sink that asks for something to run "at the next sample" from here must not wait for it: the
    /// next sample comes from this very thread (<c>LivePipeline.RunAtNextSample</c>).
    /// </summary>
    public static bool DispatchingOnThisThread => t_dispatching;

    private void Dispatch(in BoardMessage message)
    {
        switch (message.Type)
        {
            case MessageType.Samples:
                ReportContinuity(message.Continuity, message.LostBefore);
                _lastFrameTimestamp = _time.GetTimestamp();
                long index = _nextSampleIndex++;
                long arrival = _arrivals is { } arrivals && arrivals.TryGetArrival(_frameEnd, out long at) ? at : _bufferReadAt;
                if (!message.WideSamples.IsEmpty)
                {
                    foreach (IAcquisitionSink sink in _sinks)
                    {
                        sink.OnSamples(index, message.WideSamples, arrival);
                    }
                    break;
                }
                foreach (IAcquisitionSink sink in _sinks)
                {
                    sink.OnSamples(index, message.Samples, arrival);
                }
                break;

            case MessageType.Hello:
                BoardInfo board = message.Info!;
                if (_connectionScales is { } scales && scales.Count == board.ChannelCount)
                {
                    board = board with { Scales = scales }; // a recording's own calibration, which the wire does not carry
                }
                _helloSinceConnect = true;
                ReportContinuity(message.Continuity, message.LostBefore);
                if (SameShape(_lastBoard, board))
                {
                    break; // an answer to IDENTIFY that says nothing new
                }
                _lastBoard = board;
                AcquisitionLog.BoardIdentified(_logger, board.BoardName, board.FirmwareVersion, board.ChannelCount, board.SampleRateHz, board.AdcBits, board.ReferenceMillivolts);
                foreach (IAcquisitionSink sink in _sinks)
                {
                    sink.OnBoard(board);
                }
                Publish(StationEventKind.BoardIdentified, $"Board {board.BoardName} {board.FirmwareVersion}: {board.ChannelCount} ch x {board.SampleRateHz} Hz", board: board);
                break;

            case MessageType.Overflow when message.OverflowTotal != _overflowReported:
                Volatile.Write(ref _overflowReported, message.OverflowTotal);
                AcquisitionLog.BoardOverflow(_logger, message.OverflowTotal);
                Publish(StationEventKind.BoardOverflow, $"The board dropped {message.OverflowTotal} sample instants since boot (its buffer overflowed)");
                break;

            case MessageType.Ack when message.AckResult != AckResult.Ok:
                AcquisitionLog.CommandRejected(_logger, message.AckedCommand.ToString(), message.AckResult.ToString());
                Publish(StationEventKind.CommandRejected, $"The board rejected {message.AckedCommand}: {message.AckResult}");
                break;
        }
    }

    private static bool SameShape(BoardInfo? a, BoardInfo b) =>
        a is not null && a with { NextSequence = 0, Streaming = false } == b with { NextSequence = 0, Streaming = false };

    private void ReportContinuity(SequenceVerdict verdict, uint lostBefore)
    {
        long lost;
        GapCause cause;
        switch (verdict)
        {
            case SequenceVerdict.Gap:
                lost = lostBefore;
                cause = GapCause.SequenceGap;
                break;
            case SequenceVerdict.Restarted when _lastFrameTimestamp != 0 && Board is { } board:
                // The board's counter restarted, so the sequence cannot say how much was missed: estimate it
                // from the time since the last frame arrived, and say that it is an estimate.
                double seconds = _time.GetElapsedTime(_lastFrameTimestamp).TotalSeconds;
                lost = Math.Max(0, (long)Math.Round(seconds * board.SampleRateHz) - 1);
                cause = GapCause.BoardRestarted;
                break;
            default:
                return;
        }
        var gap = new SampleGap(_nextSampleIndex + lost, lost, cause);
        _nextSampleIndex += lost;
        AcquisitionLog.Gap(_logger, lost, gap.NextSampleIndex, cause, gap.Estimated ? ", estimated" : "");
        foreach (IAcquisitionSink sink in _sinks)
        {
            sink.OnGap(gap);
        }
        Publish(StationEventKind.Gap, $"{lost} sample instants lost ({cause}{(gap.Estimated ? ", estimated" : "")})", gap);
    }

    private void Publish(StationEventKind kind, string message, SampleGap? gap = null, BoardInfo? board = null, SourceKind? source = null)
    {
        var e = new AcquisitionEvent(kind, _time.GetUtcNow(), message) { Gap = gap, Board = board, Source = source };
        bool outer = t_dispatching;
        t_dispatching = true;
        try
        {
            foreach (IAcquisitionSink sink in _sinks)
            {
                sink.OnEvent(e);
            }
        }
        finally
        {
            t_dispatching = outer;
        }
    }

    /// <summary>
    /// Until the board has said HELLO on this connection, asks again every <see cref="HelloTimeout"/>: a HELLO lost on the
    /// line (noise, a buffer that overflowed while nobody read the port) would otherwise leave the station discarding every
    /// sample of a streaming board until it is unplugged (issue 18's end-to-end run: the service restarted after a kill
    /// and never processed the board again). Warns once per connection; the board answers each IDENTIFY with a HELLO.
    /// </summary>
    private async Task AskUntilHelloAsync(IBoardConnection connection, CancellationToken cancellationToken)
    {
        byte[] command = new byte[WireFormat.MaxFrameSize]; // not _commandBuffer: SendOnConnectAsync may be using it
        bool warned = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(HelloTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (_helloSinceConnect)
            {
                return;
            }
            if (!warned)
            {
                warned = true;
                AcquisitionLog.NoHello(_logger, (int)HelloTimeout.TotalSeconds, _link.Description);
            }
            try
            {
                int n = FrameEncoder.WriteCommand(command, MessageType.Identify);
                await connection.SendAsync(command.AsMemory(0, n).ToArray(), cancellationToken).ConfigureAwait(false);
                n = FrameEncoder.WriteCommand(command, MessageType.Start);
                await connection.SendAsync(command.AsMemory(0, n).ToArray(), cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _helloRequests);
            }
            catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
            {
                return; // the connection is going away; the loop reconnects and asks afresh
            }
        }
    }
}
