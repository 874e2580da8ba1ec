namespace EmgBiofeedback.Recording;

/// <summary>
/// Reads EDF/EDF+ and BDF/BDF+ files: the header, data records as digital values, and the annotations. A file
/// whose header says -1 records (a recorder killed before its first flush) or more records than the file holds
/// is read up to its last complete record and reported as <see cref="Truncated"/>.
/// </summary>
public sealed class BdfReader : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _record;
    private readonly long _dataStart;

    public BdfReader(string path)
        : this(OpenExisting(path), path)
    {
    }

    public BdfReader(Stream stream, string name = "stream")
    {
        _stream = stream;
        try
        {
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
            });
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw new InvalidDataException($"{name}: {e.Message}", e);
        }
        _dataStart = Header.HeaderBytes;
        _record = new byte[Header.RecordBytes];
        long available = (stream.Length - _dataStart) / Header.RecordBytes;
        RecordCount = Header.RecordCount < 0 ? available : Math.Min(Header.RecordCount, available);
        Truncated = Header.RecordCount < 0 || Header.RecordCount > available;
        TrailingBytes = stream.Length - _dataStart - RecordCount * Header.RecordBytes;
    }

    public BdfHeader Header { get; }

    /// <summary>Complete data records that can be read.</summary>
    public long RecordCount { get; }

    /// <summary>The header claims records the file does not hold (or says -1): the writer did not finish.</summary>
    public bool Truncated { get; }

    /// <summary>Bytes after the last record the header counts (a record written but not yet counted at a kill).</summary>
    public long TrailingBytes { get; }

    /// <summary>Data samples per record, all ordinary signals together.</summary>
    public int SamplesPerRecord => Header.Signals.Sum(s => s.SamplesPerRecord);

    /// <summary>Reads one record's digital values, signal-major (as <see cref="BdfWriter.WriteRecord"/> takes them).</summary>
    public void ReadRecord(long index, Span<int> digital, List<BdfAnnotation>? annotations = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, RecordCount);
        _stream.Position = _dataStart + index * Header.RecordBytes;
        _stream.ReadExactly(_record);
        int n = SamplesPerRecord;
        ReadOnlySpan<byte> r = _record;
        if (Header.BytesPerSample == 3)
        {
            for (int i = 0, o = 0; i < n; i++, o += 3)
            {
                // Sign-extend the 24-bit little-endian value.
                digital[i] = (r[o] | (r[o + 1] << 8) | (r[o + 2] << 16)) << 8 >> 8;
            }
        }
        else
        {
            for (int i = 0, o = 0; i < n; i++, o += 2)
            {
                digital[i] = (short)(r[o] | (r[o + 1] << 8));
            }
        }
        if (annotations is not null && Header.AnnotationSamplesPerRecord > 0)
        {
            Tal.Decode(r[(n * Header.BytesPerSample)..], out _, annotations);
        }
    }

    /// <summary>Every annotation in the file except the records' time-keeping TALs, in file order.</summary>
    public IReadOnlyList<BdfAnnotation> ReadAnnotations()
    {
        var result = new List<BdfAnnotation>();
        if (Header.AnnotationSamplesPerRecord == 0)
        {
            return result;
        }
        int annBytes = Header.AnnotationBytesPerRecord;
        var buffer = new byte[annBytes];
        for (long i = 0; i < RecordCount; i++)
        {
            _stream.Position = _dataStart + (i + 1) * Header.RecordBytes - annBytes;
            _stream.ReadExactly(buffer);
            Tal.Decode(buffer, out _, result);
        }
        return result;
    }

    public void Dispose() => _stream.Dispose();

    private static FileStream OpenExisting(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No recording at {path}.", path);
        }
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
    }
}
