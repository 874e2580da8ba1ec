namespace EmgBiofeedback.Recording;

/// <summary>
/// Writes an EDF+/BDF+ file one data record at a time. The header is written first with the record count -1
/// ("unknown", as the specification allows while recording); <see cref="Flush"/> rewrites the count after the
/// records it covers have been handed to the operating system, so a process killed at any moment leaves a
/// file whose header describes only complete records.
/// </summary>
public sealed class BdfWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly BdfHeader _header;
    private readonly byte[] _record;
    // Bounded by construction: only what fits the next record's annotation space is accepted.
    private readonly List<byte[]> _pending = [];
    private int _pendingBytes;
    private long _lastRecordAnnotationsAt = -1; // file offset of the last record's annotation bytes
    private int _lastRecordAnnotationsUsed;
    private readonly bool _flushToDisk;
    private long _records;
    private long _flushedRecords = -1;

    public BdfWriter(Stream stream, BdfHeader header, bool flushToDisk = false)
    {
        if (!stream.CanSeek || !stream.CanWrite)
        {
            throw new ArgumentException("A BDF writer needs a writable, seekable stream.", nameof(stream));
        }
        if (header.AnnotationSamplesPerRecord < 1 || !header.IsPlus)
        {
            throw new ArgumentException("This writer writes EDF+/BDF+ files: an annotations signal is required.", nameof(header));
        }
        _stream = stream;
        _header = header;
        _flushToDisk = flushToDisk;
        _record = new byte[header.RecordBytes];
        header.RecordCount = -1;
        byte[] bytes = header.Serialize();
        _stream.Write(bytes);
    }

    public BdfHeader Header => _header;

    public long RecordsWritten => _records;

    /// <summary>Annotations waiting for the next record (all of them fit it).</summary>
    public int PendingAnnotations => _pending.Count;

    /// <summary>Annotation bytes still free in the next record after its time-keeping TAL and the pending annotations.</summary>
    public int AnnotationBytesFree => _header.AnnotationBytesPerRecord - TimeKeepingBytes(_records) - _pendingBytes;

    /// <summary>
    /// Puts <paramref name="annotation"/> into the next record if it fits there leaving <paramref name="keepFree"/>
    /// bytes for later notes; returns false (and keeps nothing) otherwise. Annotations never wait for later records.
    /// </summary>
    public bool TryAnnotate(BdfAnnotation annotation, int keepFree = 0)
    {
        byte[] tal = Tal.Encode(annotation);
        if (tal.Length + keepFree > AnnotationBytesFree)
        {
            return false;
        }
        _pending.Add(tal);
        _pendingBytes += tal.Length;
        return true;
    }

    /// <summary>As <see cref="TryAnnotate"/>, for writers that sized the space themselves: throws when it does not fit.</summary>
    public void Annotate(BdfAnnotation annotation)
    {
        if (!TryAnnotate(annotation))
        {
            throw new ArgumentException($"The annotation \"{annotation.Text}\" does not fit the {AnnotationBytesFree} bytes left in the record's annotation space.", nameof(annotation));
        }
    }

    /// <summary>
    /// Adds <paramref name="annotation"/> to the free annotation space of the last record already written (used when a
    /// file closes on a record boundary, so its last notes need no record of padding). False when none fits.
    /// </summary>
    public bool TryAnnotateLastRecord(BdfAnnotation annotation)
    {
        byte[] tal = Tal.Encode(annotation);
        if (_lastRecordAnnotationsAt < 0 || _lastRecordAnnotationsUsed + tal.Length > _header.AnnotationBytesPerRecord)
        {
            return false;
        }
        long end = _stream.Position;
        _stream.Position = _lastRecordAnnotationsAt + _lastRecordAnnotationsUsed;
        _stream.Write(tal);
        _stream.Position = end;
        _lastRecordAnnotationsUsed += tal.Length;
        _flushedRecords = -1; // the next Flush hands the change to the OS
        return true;
    }

    private int TimeKeepingBytes(long record) => Tal.Seconds(record * _header.RecordDurationSeconds).Length + 3;

    /// <summary>
    /// Writes one data record: <paramref name="digital"/> holds each signal's samples in signal order, signal-major
    /// (signal 0's <c>SamplesPerRecord</c> values, then signal 1's, ...). Values are clamped to the 24/16-bit range.
    /// </summary>
    public void WriteRecord(ReadOnlySpan<int> digital)
    {
        int bps = _header.BytesPerSample;
        int expected = (_header.RecordBytes - _header.AnnotationBytesPerRecord) / bps;
        if (digital.Length != expected)
        {
            throw new ArgumentException($"A record holds {expected} samples, not {digital.Length}.", nameof(digital));
        }
        Span<byte> r = _record;
        if (bps == 3)
        {
            for (int i = 0, o = 0; i < digital.Length; i++, o += 3)
            {
                int v = Math.Clamp(digital[i], -8_388_608, 8_388_607);
                r[o] = (byte)v;
                r[o + 1] = (byte)(v >> 8);
                r[o + 2] = (byte)(v >> 16);
            }
        }
        else
        {
            for (int i = 0, o = 0; i < digital.Length; i++, o += 2)
            {
                int v = Math.Clamp(digital[i], short.MinValue, short.MaxValue);
                r[o] = (byte)v;
                r[o + 1] = (byte)(v >> 8);
            }
        }
        Span<byte> ann = r[(digital.Length * bps)..];
        ann.Clear();
        int used = Tal.WriteTimeKeeping(ann, _records * _header.RecordDurationSeconds);
        foreach (byte[] tal in _pending)
        {
            tal.CopyTo(ann[used..]);
            used += tal.Length;
        }
        _pending.Clear();
        _pendingBytes = 0;
        _lastRecordAnnotationsAt = _stream.Position + digital.Length * bps;
        _lastRecordAnnotationsUsed = used;
        _stream.Write(_record);
        _records++;
    }

    /// <summary>Hands the written records to the OS, then makes the header count them (data first, then the count).</summary>
    public void Flush()
    {
        if (_flushedRecords == _records)
        {
            return;
        }
        _stream.Flush();
        long end = _stream.Position;
        _stream.Position = BdfHeader.RecordCountOffset;
        _stream.Write(BdfHeader.RecordCountField(_records));
        _stream.Position = end;
        if (_stream is FileStream file)
        {
            file.Flush(_flushToDisk);
        }
        else
        {
            _stream.Flush();
        }
        _flushedRecords = _records;
        _header.RecordCount = _records;
    }

    public void Dispose()
    {
        Flush();
        _stream.Dispose();
    }
}
