using System.Buffers;
using System.Diagnostics;
using EmgBiofeedback.Acquisition.Tests;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// The serial line between the board and the service, with its faults: bytes from the firmware's pty (emg_sim) go to
/// the board end of a socat pty pair whose host end the service opens as its serial port, and the service's commands
/// come back the same way. The relay reads the board's clean stream with the project's own decoder, so it knows every
/// sample instant the board produced (its sequence numbers) before any fault touches the bytes.
/// Faults: <see cref="GarbageRate"/> inserts random bytes at random places (line noise); <see cref="UnplugAsync"/>
/// removes the serial device (socat stopped: both links vanish) while the board goes on producing, as a USB-serial
/// adapter pulled from a powered board; what the board sends meanwhile is lost on the line, as it would be.
/// The relay never holds the board back: between reading the board and writing the line there is a queue bounded at
/// 64 KiB (about 2.5 s of the stream; a host's tty layer buffers at least that much of a USB-serial device nobody
/// reads before bytes are lost) that drops what does not fit and counts it, as a serial line with nobody reading does. Both directions run on threads of their own, never on the
/// thread pool the test's 100 subscribers keep busy.
/// </summary>
public sealed class SerialRelay : IAsyncDisposable
{
    private const int QueueBytes = 64 << 10;
    private readonly FileStream _board;
    private readonly SocatPtyPair _pair;
    private readonly Random _random;
    private readonly Queue<(byte[] Bytes, long Latest)> _toLine = new();
    // Stopwatch timestamp at which each sequence number's last byte was written to the line (0: never), from _first.
    private readonly List<long> _writtenAt = [];
    private long _lastWritten = -1;
    private int _queuedBytes;
    private bool _stopping;
    private readonly BoardStreamDecoder _decoder = new();
    private readonly Thread _fromBoard;
    private readonly Thread _toLineThread;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lineGate = new();
    private readonly List<(DateTimeOffset Time, long Sequence)> _timeline = [];
    private FileStream? _line;
    private Thread? _fromLine;
    private long _latest = -1;
    private long _first = -1;
    private long _frames;
    private long _garbage;
    private long _droppedBytes;
    private long _overflowed;

    private SerialRelay(FileStream board, SocatPtyPair pair, int seed)
    {
        _board = board;
        _pair = pair;
        _random = new Random(seed);
        _fromBoard = new Thread(ReadBoard) { IsBackground = true, Name = "relay board->line" };
        _toLineThread = new Thread(WriteLine) { IsBackground = true, Name = "relay queue->line" };
        _toLineThread.Start();
    }

    /// <summary>Random bytes inserted per byte of the board's stream (0.01 = 1 %); 0 for a clean line.</summary>
    public double GarbageRate { get; set; }

    /// <summary>The newest sequence number the board sent; -1 before the first SAMPLES frame.</summary>
    public long LatestSequence => Interlocked.Read(ref _latest);

    public long FirstSequence => Interlocked.Read(ref _first);

    /// <summary>SAMPLES frames the board sent (its stream, before the line).</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Garbage bytes inserted so far.</summary>
    public long GarbageBytes => Interlocked.Read(ref _garbage);

    /// <summary>Bytes of the board's stream that never reached the line: device unplugged, or nobody reading it.</summary>
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    /// <summary>The board's own OVERFLOW count (sample instants it could not send), as it last reported it.</summary>
    public long BoardOverflow => Interlocked.Read(ref _overflowed);

    public bool Plugged
    {
        get { lock (_lineGate) { return _line is not null; } }
    }

    /// <summary>(wall-clock time, newest sequence) about once a second: which instants the board produced when.</summary>
    public IReadOnlyList<(DateTimeOffset Time, long Sequence)> Timeline
    {
        get { lock (_timeline) { return _timeline.ToArray(); } }
    }

    public static async Task<SerialRelay> StartAsync(string boardPty, SocatPtyPair pair, int seed)
    {
        var board = new FileStream(boardPty, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 0);
        var relay = new SerialRelay(board, pair, seed);
        relay.OpenLine();
        relay._fromBoard.Start();
        await Eventually.TrueAsync(() => relay.LatestSequence >= 0, TimeSpan.FromSeconds(30), "the board's first SAMPLES frame through the relay");
        return relay;
    }

    /// <summary>Waits until the board has sent an instant at or after <paramref name="sequence"/>.</summary>
    public Task WaitForSequenceAsync(long sequence, TimeSpan timeout) =>
        Eventually.TrueAsync(() => LatestSequence >= sequence, timeout, $"board sequence {sequence}");

    /// <summary>The serial device vanishes (socat stopped, both links removed); the board goes on sending into nothing.</summary>
    public async Task UnplugAsync()
    {
        FileStream? line;
        lock (_lineGate)
        {
            line = _line;
            _line = null;
        }
        line?.Dispose();
        await _pair.UnplugAsync();
        _fromLine?.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>The serial device is back (new socat, same link names).</summary>
    public async Task PlugInAsync()
    {
        await _pair.PlugInAsync();
        OpenLine();
    }

    private void OpenLine()
    {
        var line = new FileStream(_pair.BoardEnd, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 0);
        lock (_lineGate)
        {
            _line = line;
        }
        _fromLine = new Thread(() => ReadLine(line)) { IsBackground = true, Name = "relay line->board" };
        _fromLine.Start();
    }

    /// <summary>Board to line: decode the clean stream (what the board produced), then queue it for the line.</summary>
    private void ReadBoard()
    {
        byte[] buffer = new byte[4096];
        var pending = new ArrayBufferWriter<byte>(1 << 16);
        DateTimeOffset nextMark = DateTimeOffset.MinValue;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = _board.Read(buffer);
                if (n <= 0)
                {
                    return;
                }
                pending.Write(buffer.AsSpan(0, n));
                var sequence = new ReadOnlySequence<byte>(pending.WrittenMemory);
                var reader = new SequenceReader<byte>(sequence);
                while (_decoder.TryRead(ref reader, out BoardMessage message))
                {
                    if (message.Type == MessageType.Samples)
                    {
                        Interlocked.Increment(ref _frames);
                        Interlocked.Exchange(ref _latest, message.Sequence);
                        Interlocked.CompareExchange(ref _first, message.Sequence, -1);
                    }
                    else if (message.Type == MessageType.Overflow)
                    {
                        Interlocked.Exchange(ref _overflowed, message.OverflowTotal);
                    }
                }
                byte[] rest = reader.UnreadSequence.ToArray();
                pending.Clear();
                pending.Write(rest);
                lock (_toLine)
                {
                    if (_queuedBytes + n > QueueBytes)
                    {
                        Interlocked.Add(ref _droppedBytes, n); // the line is not read: a serial line drops, it never holds the board back
                        _toLine.Enqueue(([], Interlocked.Read(ref _latest))); // in order: these frames never reach the line
                        Monitor.Pulse(_toLine);
                    }
                    else
                    {
                        _toLine.Enqueue((buffer.AsSpan(0, n).ToArray(), Interlocked.Read(ref _latest)));
                        _queuedBytes += n;
                        Monitor.Pulse(_toLine);
                    }
                }
                DateTimeOffset now = DateTimeOffset.UtcNow;
                if (now >= nextMark)
                {
                    nextMark = now.AddSeconds(1);
                    lock (_timeline)
                    {
                        _timeline.Add((now, LatestSequence));
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // emg_sim ended (the run is over).
        }
    }

    private void WriteLine()
    {
        var output = new byte[8192];
        while (true)
        {
            byte[] chunk;
            long latest;
            lock (_toLine)
            {
                while (_toLine.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_toLine);
                }
                if (_stopping)
                {
                    return;
                }
                (chunk, latest) = _toLine.Dequeue();
                if (chunk.Length == 0)
                {
                    MarkWritten(latest, 0);
                    continue;
                }
                _queuedBytes -= chunk.Length;
            }
            FileStream? line;
            lock (_lineGate)
            {
                line = _line;
            }
            if (line is null)
            {
                Interlocked.Add(ref _droppedBytes, chunk.Length); // unplugged: the bytes go nowhere
                MarkWritten(latest, 0);
                continue;
            }
            int o = 0;
            double rate = GarbageRate;
            foreach (byte b in chunk)
            {
                if (rate > 0 && _random.NextDouble() < rate)
                {
                    output[o++] = (byte)_random.Next(256);
                    Interlocked.Increment(ref _garbage);
                }
                output[o++] = b;
            }
            try
            {
                line.Write(output, 0, o);
                MarkWritten(latest, Stopwatch.GetTimestamp());
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                Interlocked.Add(ref _droppedBytes, chunk.Length); // unplugged while writing
                MarkWritten(latest, 0);
            }
        }
    }

    /// <summary>
    /// When the last byte of the board's frame <paramref name="sequence"/> was written to the serial line (a
    /// <see cref="Stopwatch"/> timestamp), or 0 if it never was (dropped on the line, or not sent yet): the start of the
    /// serial-byte-to-client latency.
    /// </summary>
    public long LineWriteTimestamp(long sequence)
    {
        lock (_writtenAt)
        {
            long k = sequence - FirstSequence;
            return k >= 0 && k < _writtenAt.Count ? _writtenAt[(int)k] : 0;
        }
    }

    /// <summary>The frames up to <paramref name="latest"/> reached the line at <paramref name="timestamp"/> (0: they were dropped).</summary>
    private void MarkWritten(long latest, long timestamp)
    {
        long first = FirstSequence;
        if (first < 0 || latest < first)
        {
            return;
        }
        lock (_writtenAt)
        {
            // Sequences up to the chunk's newest complete frame are on the line now; those the line dropped stay 0.
            long from = Math.Max(_lastWritten + 1, first);
            while (_writtenAt.Count < latest - first + 1)
            {
                _writtenAt.Add(0);
            }
            for (long q = from; q <= latest; q++)
            {
                _writtenAt[(int)(q - first)] = timestamp;
            }
            _lastWritten = Math.Max(_lastWritten, latest);
        }
    }

    /// <summary>Line to board: the service's commands (IDENTIFY, START) reach the firmware.</summary>
    private void ReadLine(FileStream line)
    {
        byte[] buffer = new byte[1024];
        try
        {
            while (true)
            {
                int n = line.Read(buffer);
                if (n <= 0)
                {
                    return;
                }
                lock (_board)
                {
                    _board.Write(buffer, 0, n);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // unplugged
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        lock (_toLine)
        {
            _stopping = true;
            Monitor.PulseAll(_toLine);
        }
        lock (_lineGate)
        {
            _line?.Dispose();
            _line = null;
        }
        _toLineThread.Join(TimeSpan.FromSeconds(5));
        _board.Dispose();
        _stop.Dispose();
    }
}
