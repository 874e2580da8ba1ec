using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Recording;

/// <summary>
/// Records the acquisition stream to BDF+ while a recording is started: every sample instant (ADC counts), gaps
/// (filled with 0 µV and annotated with their length, so the file's timeline stays the board's), connection
/// events, session start/stop and markers. A data record is one second; each complete record is written and
/// flushed, and the header's record count rewritten, at once, so a killed process leaves a readable file up to
/// its last second. Runs on the acquisition thread: per sample it only copies counts into a preallocated record.
/// </summary>
public sealed class Recorder : IAcquisitionSink, IDisposable
{
    private readonly RecorderOptions _options;
    private readonly RecordingsFolder _folder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    private BoardInfo? _board;
    private RecordingRequest? _request;
    private BdfWriter? _writer;
    private int[] _record = [];
    private int[] _zero = [];
    private int _rate;
    private int _fill;
    private long _position; // instants written or buffered, padding included
    private long _origin = -1;

    public Recorder(RecorderOptions options, RecordingsFolder folder, TimeProvider time, ILogger<Recorder>? logger = null)
    {
        _options = options;
        _folder = folder;
        _time = time;
        _logger = logger ?? NullLogger<Recorder>.Instance;
    }

    /// <summary>The file being written, or null.</summary>
    public string? CurrentPath { get; private set; }

    public bool IsRecording { get { lock (_gate) { return _request is not null; } } }

    /// <summary>Sample instants in the current file, gap filling included.</summary>
    public long Position { get { lock (_gate) { return _position; } } }

    /// <summary>Records written and flushed to the current file.</summary>
    public long RecordsFlushed { get { lock (_gate) { return _writer?.RecordsWritten ?? 0; } } }

    /// <summary>Raised (on the acquisition thread) after each flush with the file and its record count.</summary>
    public event Action<string, long>? Flushed;

    /// <summary>Starts recording; the file opens now if the board is known, else when it identifies itself.</summary>
    public void Start(RecordingRequest request)
    {
        lock (_gate)
        {
            if (_request is not null)
            {
                throw new InvalidOperationException($"Already recording to {CurrentPath}.");
            }
            _request = request;
            if (_board is not null)
            {
                Open();
            }
        }
    }

    /// <summary>Ends the recording: pads the last record, writes "Session stop", closes the file. Returns its path.</summary>
    public string? Stop()
    {
        lock (_gate)
        {
            string? path = CurrentPath;
            Close(RecordingLayout.SessionStop);
            _request = null;
            return path;
        }
    }

    /// <summary>A marker (sensory trick, calibration, trial) at the current instant; ignored when not recording.</summary>
    public void Mark(string text, double? durationSeconds = null)
    {
        lock (_gate)
        {
            _writer?.Annotate(new BdfAnnotation(_position / (double)_rate, durationSeconds, text));
        }
    }

    public void OnBoard(BoardInfo board)
    {
        lock (_gate)
        {
            bool changed = _board is null || board.ChannelCount != _board.ChannelCount || board.SampleRateHz != _board.SampleRateHz
                || board.AdcBits != _board.AdcBits || board.ReferenceMillivolts != _board.ReferenceMillivolts;
            _board = board;
            if (!changed || _request is null)
            {
                return;
            }
            // One file has one shape: a new rate or channel count starts the next file.
            Close("Board reconfigured; recording continues in a new file");
            Open();
        }
    }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts)
    {
        lock (_gate)
        {
            if (_writer is null)
            {
                return;
            }
            if (_origin < 0)
            {
                _origin = sampleIndex - _position;
            }
            long behind = sampleIndex - _origin - _position;
            if (behind > 0)
            {
                // Missing instants that no OnGap announced: keep the timeline anyway.
                _writer.Annotate(new BdfAnnotation(_position / (double)_rate, behind / (double)_rate, RecordingLayout.GapText(behind, "unannounced")));
                Pad(behind);
            }
            int n = Math.Min(counts.Length, _zero.Length);
            for (int c = 0; c < n; c++)
            {
                _record[c * _rate + _fill] = counts[c];
            }
            _position++;
            if (++_fill == _rate)
            {
                WriteRecord();
            }
        }
    }

    public void OnGap(SampleGap gap)
    {
        lock (_gate)
        {
            if (_writer is null || _origin < 0 || gap.Lost <= 0)
            {
                return;
            }
            string cause = gap.Estimated ? $"{gap.Cause}, estimated" : gap.Cause.ToString();
            _writer.Annotate(new BdfAnnotation(_position / (double)_rate, gap.Lost / (double)_rate, RecordingLayout.GapText(gap.Lost, cause)));
            Pad(gap.Lost);
        }
    }

    public void OnEvent(AcquisitionEvent e)
    {
        if (e.Kind is AcquisitionEventKind.Gap or AcquisitionEventKind.BoardIdentified)
        {
            return; // gaps are annotated with their length by OnGap; the board is in the header
        }
        Mark($"{e.Kind}: {e.Message}");
    }

    public void Dispose() => Stop();

    private void Open()
    {
        BoardInfo board = _board!;
        DateTime start = _time.GetLocalNow().DateTime;
        start = start.AddTicks(-(start.Ticks % TimeSpan.TicksPerSecond));
        BdfHeader header = RecordingLayout.BuildHeader(board, _request!, _options, start);
        string path = _folder.NewRecordingPath(start, _request!.Station, _request.Session);
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        _writer = new BdfWriter(stream, header, _options.FlushToDisk);
        _rate = board.SampleRateHz;
        _record = new int[board.ChannelCount * _rate];
        _zero = header.Signals.Select(RecordingLayout.ZeroCount).ToArray();
        _fill = 0;
        _position = 0;
        _origin = -1;
        CurrentPath = path;
        _writer.Annotate(new BdfAnnotation(0, null, RecordingLayout.SessionStart));
        _writer.Flush();
        RecorderLog.Started(_logger, path, board.ChannelCount, board.SampleRateHz);
    }

    private void Close(string why)
    {
        if (_writer is null)
        {
            return;
        }
        _writer.Annotate(new BdfAnnotation(_position / (double)_rate, null, why));
        if (_fill > 0)
        {
            long padding = _rate - _fill;
            _writer.Annotate(new BdfAnnotation(_position / (double)_rate, padding / (double)_rate, RecordingLayout.PaddingText(padding)));
            Pad(padding);
        }
        // Annotations that did not fit the last record go into records of padding.
        while (_writer.PendingAnnotations > 0)
        {
            _writer.Annotate(new BdfAnnotation(_position / (double)_rate, 1, RecordingLayout.PaddingText(_rate)));
            Pad(_rate);
        }
        _writer.Dispose();
        RecorderLog.Stopped(_logger, CurrentPath!, _position);
        _writer = null;
        CurrentPath = null;
    }

    /// <summary>Fills <paramref name="instants"/> with each channel's zero-volt count, writing records as they fill.</summary>
    private void Pad(long instants)
    {
        while (instants > 0)
        {
            int take = (int)Math.Min(instants, _rate - _fill);
            for (int c = 0; c < _zero.Length; c++)
            {
                _record.AsSpan(c * _rate + _fill, take).Fill(_zero[c]);
            }
            _fill += take;
            _position += take;
            instants -= take;
            if (_fill == _rate)
            {
                WriteRecord();
            }
        }
    }

    private void WriteRecord()
    {
        _writer!.WriteRecord(_record);
        _writer.Flush();
        _fill = 0;
        Flushed?.Invoke(CurrentPath!, _writer.RecordsWritten);
    }
}

internal static partial class RecorderLog
{
    [LoggerMessage(1, LogLevel.Information, "Recording to {Path} ({Channels} ch x {Rate} Hz)")]
    public static partial void Started(ILogger logger, string path, int channels, int rate);

    [LoggerMessage(2, LogLevel.Information, "Recording {Path} closed after {Instants} sample instants")]
    public static partial void Stopped(ILogger logger, string path, long instants);
}
