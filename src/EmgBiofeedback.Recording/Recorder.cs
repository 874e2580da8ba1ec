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
/// Annotations never add records: each goes into the record being filled when it happens, whose annotation space
/// is sized for <see cref="RecorderOptions.NotesPerSecond"/> notes, one gap note and the closing notes; a note that
/// does not fit is dropped and counted (<see cref="AnnotationsLost"/>, and "N annotations lost" at the end). Gaps
/// that start in one record share one note listing their exact positions (docs/recordings.md).
/// A file that cannot be written (disk full, folder gone, no permission) stops the recording, never the acquisition:
/// the file keeps its complete records, <see cref="Failure"/> says why, <see cref="RecordingFailed"/> is raised once, and
/// every sample instant of the session from the last flushed record on is counted in <see cref="SamplesNotRecorded"/>
/// (docs/reliability.md); the session goes on live, and the next session tries again.
/// </summary>
public sealed class Recorder : IAcquisitionSink, IDisposable
{
    private readonly RecorderOptions _options;
    private readonly RecordingsFolder _folder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    private BoardInfo? _board;
    private SourceKind _source;
    private bool _sourceChanged;
    private RecordingRequest? _request;
    private BdfWriter? _writer;
    private int[] _record = [];
    private int[] _zero = [];
    private int _rate;
    private int _fill;
    private long _position; // instants written or buffered, padding included
    private long _origin = -1;
    private long _lost;
    private long _lostInFile;
    private long _flushedPosition; // instants of the current file handed to the OS
    private long _notRecorded;
    private long _notRecordedInSession;
    private string? _failedPath;
    private int _noteReserve; // bytes each record keeps for its gap note and the closing notes
    // Gaps starting in the record being filled: start (file instant) and length (may run past the record's end).
    // Bounded: at most one per two instants of a record, preallocated at open.
    private readonly List<(long Start, long Count)> _gaps = [];
    private string? _gapCause;

    public Recorder(RecorderOptions options, RecordingsFolder folder, TimeProvider time, ILogger<Recorder>? logger = null)
    {
        _options = options;
        _folder = folder;
        _time = time;
        _logger = logger ?? NullLogger<Recorder>.Instance;
    }

    /// <summary>The start time the current file's header says (the station's local clock, whole seconds), or null: the
    /// origin of the file's timeline, which history stamps a session's points on.</summary>
    public DateTimeOffset? CurrentStart { get; private set; }

    /// <summary>The file being written, or null.</summary>
    public string? CurrentPath { get; private set; }

    public bool IsRecording { get { lock (_gate) { return _request is not null; } } }

    /// <summary>Sample instants in the current file, gap filling included.</summary>
    public long Position { get { lock (_gate) { return _position; } } }

    /// <summary>Records written and flushed to the current file.</summary>
    public long RecordsFlushed { get { lock (_gate) { return _writer?.RecordsWritten ?? 0; } } }

    /// <summary>Notes (markers, events) dropped because the second they fell in had no room left; since start-up.</summary>
    public long AnnotationsLost { get { lock (_gate) { return _lost; } } }

    /// <summary>Notes dropped from the current (or last) file.</summary>
    public long AnnotationsLostInFile { get { lock (_gate) { return _lostInFile; } } }

    /// <summary>Raised (on the acquisition thread) after each flush with the file and its record count.</summary>
    public event Action<string, long>? Flushed;

    /// <summary>Why the session's recording stopped before the session did (e.g. "No space left on device"), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>Sample instants of sessions that are in no file because their recording could not be written; since start-up.</summary>
    public long SamplesNotRecorded { get { lock (_gate) { return _notRecorded; } } }

    /// <summary>Of those, the current (or last) session's.</summary>
    public long SamplesNotRecordedInSession { get { lock (_gate) { return _notRecordedInSession; } } }

    /// <summary>Raised once when a session's recording stops because its file cannot be written: the file (null when it
    /// could not even be created) and the reason. On the thread that hit the failure (usually the acquisition's).</summary>
    public event Action<string?, string>? RecordingFailed;

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
            _notRecordedInSession = 0;
            _failedPath = null;
            Failure = null;
            if (_board is not null)
            {
                Guarded(Open);
            }
        }
    }

    /// <summary>Ends the recording: pads the last record, writes "Session stop", closes the file. Returns its path.</summary>
    public string? Stop()
    {
        lock (_gate)
        {
            string? path = CurrentPath ?? _failedPath;
            Guarded(() => Close(RecordingLayout.SessionStop));
            if (Failure is not null)
            {
                RecorderLog.StoppedAfterFailure(_logger, path ?? "(no file)", _notRecordedInSession, Failure);
            }
            _request = null;
            _failedPath = null;
            Failure = null;
            return path;
        }
    }

    /// <summary>
    /// A marker (sensory trick, calibration, trial) at the current instant; ignored when not recording. Returns false
    /// when the current second's annotation space is full: the marker is then dropped and counted, never queued.
    /// </summary>
    public bool Mark(string text, double? durationSeconds = null)
    {
        lock (_gate)
        {
            return _writer is null || Note(new BdfAnnotation(_position / (double)_rate, durationSeconds, text));
        }
    }

    /// <summary>
    /// A clinical annotation at its own position in the file (sample instants from the file's first sample) with its
    /// duration in instants: a window that ended now is written with its start (EDF+ lets an annotation sit in any
    /// record). Same limits as <see cref="Mark(string, double?)"/>.
    /// </summary>
    public bool Mark(string text, long position, long durationInstants)
    {
        lock (_gate)
        {
            return _writer is null || Note(new BdfAnnotation(position / (double)_rate, durationInstants > 0 ? durationInstants / (double)_rate : null, text));
        }
    }

    public void OnBoard(BoardInfo board)
    {
        lock (_gate)
        {
            bool reshaped = _board is null || board.ChannelCount != _board.ChannelCount || board.SampleRateHz != _board.SampleRateHz
                || board.AdcBits != _board.AdcBits || board.ReferenceMillivolts != _board.ReferenceMillivolts
                || !SameScales(board.Scales, _board.Scales);
            bool newSource = _sourceChanged;
            _sourceChanged = false;
            _board = board;
            if ((!reshaped && !newSource) || _request is null)
            {
                return;
            }
            // One file has one shape and one source: a new rate, channel count, scale or source starts the next file,
            // so a replay can never continue a patient's recording (nor the simulated board pass for one).
            if (Failure is not null)
            {
                return; // this session's recording has stopped; the next session tries again
            }
            Guarded(() =>
            {
                Close(newSource ? $"Source changed to {RecordingLayout.SourceWord(_source)}; recording continues in a new file" : "Board reconfigured; recording continues in a new file");
                Open();
            });
        }
    }

    public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts) => Record(sampleIndex, counts);

    /// <summary>32-bit counts (a replayed recording's whose range does not fit 16 bits): recorded as they are.</summary>
    public void OnSamples(long sampleIndex, ReadOnlySpan<int> counts) => Record(sampleIndex, counts);

    private void Record<TCount>(long sampleIndex, ReadOnlySpan<TCount> counts)
        where TCount : unmanaged, System.Numerics.IBinaryInteger<TCount>
    {
        lock (_gate)
        {
            if (_writer is null)
            {
                if (Failure is not null)
                {
                    NotRecorded(1);
                }
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
                Guarded(() => Gap(behind, "unannounced"));
                if (_writer is null)
                {
                    NotRecorded(1);
                    return;
                }
            }
            int n = Math.Min(counts.Length, _zero.Length);
            for (int c = 0; c < n; c++)
            {
                _record[c * _rate + _fill] = int.CreateTruncating(counts[c]);
            }
            _position++;
            if (++_fill == _rate)
            {
                Guarded(WriteRecord);
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
            Guarded(() => Gap(gap.Lost, gap.Estimated ? $"{gap.Cause}, estimated" : gap.Cause.ToString()));
        }
    }

    public void OnEvent(AcquisitionEvent e)
    {
        if (e.Kind == StationEventKind.Connected && e.Source is { } source)
        {
            lock (_gate)
            {
                _sourceChanged |= _source != SourceKind.Unknown && _source != source;
                _source = source;
            }
        }
        if (e.Kind == StationEventKind.SourceChanged)
        {
            lock (_gate)
            {
                _sourceChanged = true;
            }
        }
        if (e.Kind is StationEventKind.Gap or StationEventKind.BoardIdentified)
        {
            return; // gaps are annotated with their length by OnGap; the board is in the header
        }
        Mark($"{e.Kind}: {e.Message}");
    }

    public void Dispose() => Stop();

    /// <summary>Runs a step that writes the file; a write the file system refuses stops the recording (<see cref="Fail"/>).</summary>
    private void Guarded(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
        }
    }

    /// <summary>
    /// The file cannot be written: close it as it is (its header counts only the records that reached the OS), count what
    /// is not in it, say so once. The acquisition, the live streams and history never see the failure.
    /// </summary>
    private void Fail(Exception e)
    {
        string? path = CurrentPath;
        BdfWriter? writer = _writer;
        _writer = null;
        CurrentPath = null;
        if (writer is not null)
        {
            try
            {
                writer.Dispose();
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // The buffered record cannot be written either; the handle is closed all the same.
            }
        }
        _failedPath = path;
        Failure = e.Message;
        NotRecorded(_position - _flushedPosition); // the record being filled and any the OS did not take
        RecorderLog.Failed(_logger, path ?? "(no file)", e.Message, _flushedPosition);
        RecordingFailed?.Invoke(path, e.Message);
    }

    private void NotRecorded(long instants)
    {
        if (instants <= 0)
        {
            return;
        }
        _notRecorded += instants;
        _notRecordedInSession += instants;
    }

    private static bool SameScales(IReadOnlyList<ChannelScale>? a, IReadOnlyList<ChannelScale>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b));

    private void Open()
    {
        BoardInfo board = _board!;
        _position = 0;
        _flushedPosition = 0;
        DateTimeOffset now = _time.GetLocalNow();
        CurrentStart = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
        DateTime start = CurrentStart.Value.DateTime;
        BdfHeader header = RecordingLayout.BuildHeader(board, _request!, _options, start, source: _source);
        string path = _folder.NewRecordingPath(start, _request!.Station, _request.Session);
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            _writer = new BdfWriter(stream, header, _options.FlushToDisk);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        _rate = board.SampleRateHz;
        _record = new int[board.ChannelCount * _rate];
        _zero = header.Signals.Select(RecordingLayout.ZeroCount).ToArray();
        _fill = 0;
        _position = 0;
        _flushedPosition = 0;
        _origin = -1;
        _lostInFile = 0;
        _gaps.Clear();
        _gaps.Capacity = Math.Max(_gaps.Capacity, _rate / 2 + 1);
        _gapCause = null;
        _noteReserve = RecordingLayout.GapNoteBytes(_rate) + RecordingLayout.CloseBytes;
        CurrentPath = path;
        Note(new BdfAnnotation(0, null, RecordingLayout.SessionStart));
        if (_source is SourceKind.SimulatedBoard or SourceKind.Replay)
        {
            Note(new BdfAnnotation(0, null, $"Source: {RecordingLayout.SourceWord(_source)} (not a patient's live data)"));
        }
        _writer.Flush();
        RecorderLog.Started(_logger, path, board.ChannelCount, board.SampleRateHz);
    }

    private void Close(string why)
    {
        if (_writer is null)
        {
            return;
        }
        double now = _position / (double)_rate;
        var closing = new List<BdfAnnotation> { new(now, null, why) };
        long padding = _fill > 0 ? _rate - _fill : 0;
        if (padding > 0)
        {
            closing.Add(new BdfAnnotation(now, padding / (double)_rate, RecordingLayout.PaddingText(padding)));
        }
        foreach (BdfAnnotation a in closing)
        {
            // The closing notes use the room every record keeps for them (all but the gap note's).
            bool kept = _fill > 0 ? _writer.TryAnnotate(a, RecordingLayout.GapNoteBytes(_rate)) : _writer.TryAnnotateLastRecord(a);
            if (!kept)
            {
                Lose();
            }
        }
        if (_lostInFile > 0)
        {
            BdfAnnotation lost = new(now, null, RecordingLayout.LostText(_lostInFile));
            bool kept = _fill > 0 ? _writer.TryAnnotate(lost, RecordingLayout.GapNoteBytes(_rate)) : _writer.TryAnnotateLastRecord(lost);
            if (!kept)
            {
                RecorderLog.LossNotWritten(_logger, CurrentPath!, _lostInFile);
            }
        }
        if (padding > 0)
        {
            Fill(padding);
        }
        _writer.Dispose();
        RecorderLog.Stopped(_logger, CurrentPath!, _position, _lostInFile);
        _writer = null;
        CurrentPath = null;
    }

    /// <summary>A note in the record being filled, keeping the room of its gap note and the closing notes; else dropped and counted.</summary>
    private bool Note(BdfAnnotation annotation)
    {
        if (_writer!.TryAnnotate(annotation, _noteReserve))
        {
            return true;
        }
        Lose();
        return false;
    }

    private void Lose()
    {
        _lost++;
        _lostInFile++;
    }

    /// <summary>Lost instants: noted with the record they start in (see <see cref="GapNote"/>), filled with 0 µV.</summary>
    private void Gap(long lost, string cause)
    {
        _gaps.Add((_position, lost));
        _gapCause = _gapCause is null || _gapCause == cause ? cause : "mixed causes";
        Fill(lost);
    }

    /// <summary>Fills <paramref name="instants"/> with each channel's zero-volt count, writing records as they fill.</summary>
    private void Fill(long instants)
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
        GapNote();
        _writer!.WriteRecord(_record);
        _writer.Flush();
        _flushedPosition = _position;
        _fill = 0;
        Flushed?.Invoke(CurrentPath!, _writer.RecordsWritten);
    }

    /// <summary>
    /// The note of the gaps that start in the record about to be written. One gap: "Gap N samples (cause)" with its
    /// whole length (it may run over later records, which then need no note). Several: one list note whose runs are cut
    /// at the record's end; a run that goes on becomes the first gap of the next record. The room for it is kept in
    /// every record (<see cref="RecordingLayout.GapNoteBytes"/>), so a gap is never dropped.
    /// </summary>
    private void GapNote()
    {
        if (_gaps.Count == 0)
        {
            return;
        }
        long recordEnd = _position - _fill + _rate;
        BdfAnnotation note;
        (long Start, long Count) carry = default;
        if (_gaps.Count == 1)
        {
            (long start, long count) = _gaps[0];
            note = new BdfAnnotation(start / (double)_rate, count / (double)_rate, RecordingLayout.GapText(count, _gapCause!));
        }
        else
        {
            (long lastStart, long lastCount) = _gaps[^1];
            if (lastStart + lastCount > recordEnd)
            {
                carry = (recordEnd, lastStart + lastCount - recordEnd);
                _gaps[^1] = (lastStart, recordEnd - lastStart);
            }
            long span = _gaps[^1].Start + _gaps[^1].Count - _gaps[0].Start;
            note = new BdfAnnotation(_gaps[0].Start / (double)_rate, span / (double)_rate, RecordingLayout.GapListText(_gaps, _gapCause!));
        }
        if (!_writer!.TryAnnotate(note))
        {
            // Cannot happen with the room RecordingLayout keeps (tested); never stop acquisition over it.
            Lose();
            RecorderLog.GapNoteLost(_logger, CurrentPath!, note.Text);
        }
        string cause = _gapCause!;
        _gaps.Clear();
        _gapCause = null;
        if (carry.Count > 0)
        {
            _gaps.Add(carry);
            _gapCause = cause;
        }
    }
}

internal static partial class RecorderLog
{
    [LoggerMessage(1, LogLevel.Information, "Recording to {Path} ({Channels} ch x {Rate} Hz)")]
    public static partial void Started(ILogger logger, string path, int channels, int rate);

    [LoggerMessage(2, LogLevel.Information, "Recording {Path} closed after {Instants} sample instants ({Lost} annotations lost)")]
    public static partial void Stopped(ILogger logger, string path, long instants, long lost);

    [LoggerMessage(4, LogLevel.Error, "Recording {Path}: a gap note did not fit its record; the filled instants read as recorded: {Text}")]
    public static partial void GapNoteLost(ILogger logger, string path, string text);

    [LoggerMessage(5, LogLevel.Critical, "Recording {Path} STOPPED: it cannot be written ({Reason}). The file keeps its first {Instants} sample instants; the session goes on live and history goes on, but from here on nothing is recorded (counted as samples not recorded). Free the space (Recording:Folder) and start a new session to record again")]
    public static partial void Failed(ILogger logger, string path, string reason, long instants);

    [LoggerMessage(6, LogLevel.Error, "Recording {Path}: the session ended with {Instants} sample instants not recorded ({Reason})")]
    public static partial void StoppedAfterFailure(ILogger logger, string path, long instants, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Recording {Path}: {Lost} annotations were lost and no room was left to say so in the file")]
    public static partial void LossNotWritten(ILogger logger, string path, long lost);
}
