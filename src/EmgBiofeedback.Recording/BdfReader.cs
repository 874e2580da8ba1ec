namespace EmgBiofeedback.Recording;

/// <summary>
/// Reads any EDF, EDF+, BDF or BDF+ file: the header, each signal's digital values at its own rate, the records'
/// onsets (EDF+D: from their time-keeping annotations) and the annotations. What the standard lets a reader resolve
/// is resolved and reported in <see cref="Warnings"/>: a record count of -1 or one that does not match the file's
/// length (the complete records present are read), a bad annotation (that record's annotations are skipped, not the
/// file). Memory is bounded by the file's real size, never by what its header claims. Every failure to read is an
/// <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
public sealed class BdfReader : IDisposable
{
    private readonly Stream _stream;
    private readonly string _name;
    private readonly long _dataStart;
    private readonly int[] _signalOffset;     // byte offset of each ordinary signal within a record
    private readonly int[] _sampleOffset;     // where each ordinary signal's values start in a record read by ReadRecord
    private readonly int[] _annotationOffset; // byte offset of each annotations signal within a record
    private readonly int[] _annotationBytes;
    private readonly List<string> _warnings = [];
    private byte[] _record = [];
    private double[]? _onsets;
    private IReadOnlyList<BdfAnnotation>? _annotations;

    public BdfReader(string path)
        : this(OpenExisting(path), System.IO.Path.GetFileName(path))
    {
    }

    public BdfReader(Stream stream, string name = "stream")
    {
        _stream = stream;
        _name = name;
        try
        {
            long length = stream.Length;
            var fixedPart = new byte[BdfHeader.FixedSize];
            int got = stream.ReadAtLeast(fixedPart, fixedPart.Length, throwOnEndOfStream: false);
            Header = BdfHeader.Parse(fixedPart.AsSpan(0, got), n =>
            {
                var b = new byte[n];
                if (stream.ReadAtLeast(b, n, throwOnEndOfStream: false) < n)
                {
                    throw new InvalidDataException("Truncated file: it ends inside the signal headers.");
                }
                return b;
            }, length, _warnings);
            _dataStart = Header.HeaderBytes;
            long recordBytes = Header.ParsedRecordBytes;
            long available = Math.Max(0, (length - _dataStart) / recordBytes);
            long claimed = Header.RecordCount;
            // The records the file holds are read, whatever the header claims: -1 (a writer that did not finish), more
            // than are there (a truncated copy), or fewer (a writer killed between a record and its count, or a count
            // of 0 that the data contradicts). Each disagreement is reported.
            RecordCount = available;
            Truncated = claimed < 0 || claimed > available;
            TrailingBytes = length - _dataStart - (RecordCount * recordBytes);
            if (claimed == -1)
            {
                _warnings.Add($"The header says -1 data records (a writer that did not finish); the {available} complete records present are read.");
            }
            else if (claimed != available)
            {
                _warnings.Add($"The header says {claimed} data records; the file holds {available} complete records, which are read.");
            }
            if (TrailingBytes > 0)
            {
                _warnings.Add($"{TrailingBytes} bytes after the last complete record are not read.");
            }
            if (RecordCount > 0)
            {
                _record = new byte[recordBytes]; // at most the file's own length
            }
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new InvalidDataException($"{name}: cannot be read: {e.Message}", e);
        }

        int bps = Header.BytesPerSample;
        _signalOffset = new int[Header.Signals.Count];
        _sampleOffset = new int[Header.Signals.Count];
        for (int s = 1; s < _sampleOffset.Length; s++)
        {
            _sampleOffset[s] = _sampleOffset[s - 1] + Header.Signals[s - 1].SamplesPerRecord;
        }
        _annotationOffset = new int[Header.AnnotationSignalIndices.Count];
        _annotationBytes = new int[Header.AnnotationSignalIndices.Count];
        int offset = 0, ordinary = 0, annotation = 0;
        for (int i = 0; i < Header.FileSamplesPerRecord.Count; i++)
        {
            int n = Header.FileSamplesPerRecord[i];
            if (annotation < _annotationOffset.Length && Header.AnnotationSignalIndices[annotation] == i)
            {
                _annotationOffset[annotation] = offset;
                _annotationBytes[annotation++] = n * bps;
            }
            else
            {
                _signalOffset[ordinary++] = offset;
            }
            offset += n * bps;
        }
    }

    public BdfHeader Header { get; }

    /// <summary>Complete data records that can be read.</summary>
    public long RecordCount { get; }

    /// <summary>The header claims records the file does not hold (or says -1): the writer did not finish.</summary>
    public bool Truncated { get; }

    /// <summary>Bytes after the last record read (a record written but not yet counted at a kill, or garbage).</summary>
    public long TrailingBytes { get; }

    /// <summary>What was resolved while reading (header inconsistencies, skipped annotations), in plain words.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Data samples per record, all ordinary signals together.</summary>
    public int SamplesPerRecord => (int)Math.Min(int.MaxValue, Header.Signals.Sum(s => (long)s.SamplesPerRecord));

    /// <summary>Where signal <paramref name="signal"/>'s values start in the span <see cref="ReadRecord"/> fills.</summary>
    public int SampleOffset(int signal) => _sampleOffset[signal];

    /// <summary>The first sample instant of record <paramref name="record"/> on the file's timeline at a signal rate of
    /// <paramref name="samplesPerRecord"/> per record: its onset (EDF+D) or record x samples per record.</summary>
    public long RecordStart(long record, int samplesPerRecord) =>
        IsDiscontinuous ? (long)Math.Round(RecordOnsetSeconds(record) * (samplesPerRecord / Header.RecordDurationSeconds)) : record * samplesPerRecord;

    /// <summary>Whether the file is EDF+D/BDF+D: records are not necessarily contiguous in time.</summary>
    public bool IsDiscontinuous => Header.IsDiscontinuous;

    /// <summary>
    /// Reads one record's digital values of every ordinary signal, signal-major (signal 0's <c>SamplesPerRecord</c>
    /// values, then signal 1's, ...; the layout <see cref="BdfWriter.WriteRecord"/> takes). Annotations of the record
    /// are added to <paramref name="annotations"/> when given (a malformed one skips the record's annotations, with a
    /// warning).
    /// </summary>
    public void ReadRecord(long index, Span<int> digital, List<BdfAnnotation>? annotations = null)
    {
        LoadRecord(index);
        for (int s = 0; s < Header.Signals.Count; s++)
        {
            int n = Header.Signals[s].SamplesPerRecord;
            Decode(_record.AsSpan(_signalOffset[s], n * Header.BytesPerSample), digital.Slice(_sampleOffset[s], n));
        }
        if (annotations is not null)
        {
            DecodeAnnotations(index, annotations, out _);
        }
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length digital values of signal <paramref name="signal"/> (an index into
    /// <see cref="BdfHeader.Signals"/>) from its sample <paramref name="firstSample"/> on, counted over the records in
    /// file order (gaps of an EDF+D file are not samples). Returns how many were read (fewer at the end).
    /// </summary>
    public int ReadSignal(int signal, long firstSample, Span<int> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstSample);
        int n = Header.Signals[signal].SamplesPerRecord;
        if (n == 0)
        {
            return 0;
        }
        int done = 0;
        if (RecordCount == 0)
        {
            return 0;
        }
        long record = firstSample / n;
        int skip = (int)(firstSample % n);
        Span<int> scratch = n <= 4096 ? stackalloc int[n] : new int[n];
        while (done < destination.Length && record < RecordCount)
        {
            LoadRecord(record);
            Decode(_record.AsSpan(_signalOffset[signal], n * Header.BytesPerSample), scratch);
            int take = Math.Min(n - skip, destination.Length - done);
            scratch.Slice(skip, take).CopyTo(destination[done..]);
            done += take;
            skip = 0;
            record++;
        }
        return done;
    }

    /// <summary>
    /// When each record starts, seconds from the file's start: its time-keeping annotation's onset in an EDF+/BDF+
    /// file (so an EDF+D file's gaps are kept), else record x duration. Records whose time-keeping annotation is
    /// missing or unreadable follow their predecessor (with a warning); onsets that go backwards are refused.
    /// </summary>
    public double RecordOnsetSeconds(long record)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(record);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(record, RecordCount);
        EnsureAnnotations();
        return _onsets is null ? record * Header.RecordDurationSeconds : _onsets[record];
    }

    /// <summary>Every annotation in the file except the records' time-keeping TALs, in file order.</summary>
    public IReadOnlyList<BdfAnnotation> ReadAnnotations()
    {
        EnsureAnnotations();
        return _annotations!;
    }

    public void Dispose() => _stream.Dispose();

    private void EnsureAnnotations()
    {
        if (_annotations is not null)
        {
            return;
        }
        var result = new List<BdfAnnotation>();
        if (Header.AnnotationSignalIndices.Count == 0)
        {
            _annotations = result;
            return;
        }
        bool discontinuous = Header.IsDiscontinuous;
        double[]? onsets = discontinuous ? new double[RecordCount] : null;
        double duration = Header.RecordDurationSeconds;
        int missing = 0;
        for (long r = 0; r < RecordCount; r++)
        {
            LoadRecord(r);
            DecodeAnnotations(r, result, out double? onset);
            if (onsets is null)
            {
                continue;
            }
            double expected = r == 0 ? 0 : onsets[r - 1] + duration;
            if (onset is not { } o || !double.IsFinite(o))
            {
                missing++;
                onsets[r] = expected;
            }
            else if (r > 0 && o < expected - (duration * 1e-6))
            {
                _warnings.Add($"Record {r + 1} starts at {o} s, before the end of the previous record ({expected} s); it is placed right after it.");
                onsets[r] = expected;
            }
            else
            {
                onsets[r] = o;
            }
        }
        if (missing > 0)
        {
            _warnings.Add($"{missing} records have no readable time-keeping annotation; each is taken to follow its predecessor.");
        }
        _onsets = onsets;
        _annotations = result;
    }

    private void DecodeAnnotations(long record, List<BdfAnnotation> into, out double? recordOnset)
    {
        recordOnset = null;
        for (int a = 0; a < _annotationOffset.Length; a++)
        {
            int before = into.Count;
            try
            {
                Tal.Decode(_record.AsSpan(_annotationOffset[a], _annotationBytes[a]), out double? onset, into);
                if (a == 0)
                {
                    recordOnset = onset;
                }
            }
            catch (InvalidDataException e)
            {
                into.RemoveRange(before, into.Count - before);
                if (_warnings.Count < 1000)
                {
                    _warnings.Add($"Record {record + 1}: its annotations are skipped: {e.Message}");
                }
            }
        }
    }

    private void LoadRecord(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RecordCount);
        _stream.Position = _dataStart + (index * _record.Length);
        try
        {
            _stream.ReadExactly(_record);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{_name}: the file ended inside record {index + 1} (it shrank while being read).", e);
        }
    }

    private void Decode(ReadOnlySpan<byte> r, Span<int> digital)
    {
        if (Header.BytesPerSample == 3)
        {
            for (int i = 0, o = 0; i < digital.Length; i++, o += 3)
            {
                // Sign-extend the 24-bit little-endian value.
                digital[i] = (r[o] | (r[o + 1] << 8) | (r[o + 2] << 16)) << 8 >> 8;
            }
        }
        else
        {
            for (int i = 0, o = 0; i < digital.Length; i++, o += 2)
            {
                digital[i] = (short)(r[o] | (r[o + 1] << 8));
            }
        }
    }

    private static FileStream OpenExisting(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No recording at {System.IO.Path.GetFileName(path)}.", path);
        }
        // A FIFO or a device reports no length; opening one would wait for a writer (a FIFO) or read without end.
        // Everything that is not a regular file holding at least a header is refused before it is opened.
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            info = target; // a symbolic link's own length is that of the path it holds
        }
        if (info.Length < BdfHeader.FixedSize)
        {
            throw new InvalidDataException($"{System.IO.Path.GetFileName(path)}: {(info.Length == 0 ? "empty, or not a regular file (a FIFO or device cannot be read as a recording)" : $"{info.Length} bytes, shorter than the 256-byte header")}.");
        }
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            throw new InvalidDataException($"{System.IO.Path.GetFileName(path)}: not a regular file (a FIFO or device cannot be read as a recording).");
        }
        return stream;
    }
}
