using System.Globalization;
using System.Text;

namespace EmgBiofeedback.Recording;

/// <summary>One ordinary signal of an EDF/BDF file (the annotations signal is described by <see cref="BdfHeader"/>).</summary>
/// <remarks>
/// Physical value = PhysicalMinimum + (digital - DigitalMinimum) x (PhysicalMaximum - PhysicalMinimum) / (DigitalMaximum - DigitalMinimum).
/// </remarks>
public sealed record BdfSignal(
    string Label,
    string Transducer,
    string PhysicalDimension,
    double PhysicalMinimum,
    double PhysicalMaximum,
    int DigitalMinimum,
    int DigitalMaximum,
    string Prefiltering,
    int SamplesPerRecord)
{
    public double UnitsPerDigit => (PhysicalMaximum - PhysicalMinimum) / (DigitalMaximum - DigitalMinimum);

    public double ToPhysical(int digital) => PhysicalMinimum + (digital - DigitalMinimum) * UnitsPerDigit;
}

/// <summary>A time-stamped annotation (EDF+ TAL): onset in seconds from the file's start, optional duration.</summary>
public sealed record BdfAnnotation(double OnsetSeconds, double? DurationSeconds, string Text);

/// <summary>
/// The fixed header of an EDF+/BDF+ file (EDF+ specification, edfplus.info/specs). Strings are ASCII; every field
/// is left-aligned and space-padded to its width. <see cref="Signals"/> excludes the annotations signal, which
/// every file written here carries last with <see cref="AnnotationSamplesPerRecord"/> samples per record.
/// </summary>
public sealed class BdfHeader
{
    public const string AnnotationsLabelBdf = "BDF Annotations";
    public const string AnnotationsLabelEdf = "EDF Annotations";
    internal const int FixedSize = 256;
    internal const int PerSignalSize = 256;
    internal const int RecordCountOffset = 236;

    /// <summary>True for BDF (24-bit samples), false for EDF (16-bit).</summary>
    public bool Is24Bit { get; init; } = true;

    /// <summary>EDF+ patient field: "code sex birthdate name"; written here as "&lt;pseudonymous code&gt; X X X".</summary>
    public required string PatientId { get; init; }

    /// <summary>EDF+ recording field: "Startdate dd-MMM-yyyy admincode technician equipment ...".</summary>
    public required string RecordingId { get; init; }

    /// <summary>Local start date and time, to the second (the header's resolution).</summary>
    public required DateTime StartTime { get; init; }

    /// <summary>"BDF+C"/"EDF+C" (continuous), "BDF+D"/"EDF+D", "24BIT" or empty for plain files.</summary>
    public string Reserved { get; init; } = "BDF+C";

    /// <summary>Data records in the file; -1 while a writer has not yet flushed one.</summary>
    public long RecordCount { get; set; } = -1;

    public double RecordDurationSeconds { get; init; } = 1;

    public required IReadOnlyList<BdfSignal> Signals { get; init; }

    /// <summary>Samples of the annotations signal per record (each is 3 bytes in BDF, 2 in EDF); 0: none.</summary>
    public int AnnotationSamplesPerRecord { get; init; }

    /// <summary>Index of the annotations signal among all signals in the file, or -1.</summary>
    public int AnnotationSignalIndex { get; init; } = -1;

    /// <summary>For each of <see cref="Signals"/>, its position among all the file's signals (annotations included).</summary>
    public IReadOnlyList<int> SignalFileIndex { get; init; } = [];

    /// <summary>Positions of the annotations signals among all the file's signals (EDF+ allows several, anywhere).</summary>
    public IReadOnlyList<int> AnnotationSignalIndices { get; init; } = [];

    /// <summary>Samples per record of every signal in file order, annotations signals included (a parsed header).</summary>
    internal IReadOnlyList<int> FileSamplesPerRecord { get; init; } = [];

    internal long ParsedRecordBytes { get; init; }

    public int BytesPerSample => Is24Bit ? 3 : 2;

    public bool IsPlus => Reserved.StartsWith("BDF+", StringComparison.Ordinal) || Reserved.StartsWith("EDF+", StringComparison.Ordinal);

    public int TotalSignalCount => FileSamplesPerRecord.Count > 0 ? FileSamplesPerRecord.Count : Signals.Count + (AnnotationSamplesPerRecord > 0 ? 1 : 0);

    public int HeaderBytes => FixedSize + PerSignalSize * TotalSignalCount;

    public int AnnotationBytesPerRecord => AnnotationSamplesPerRecord * BytesPerSample;

    /// <summary>Whether the file says it is discontinuous (EDF+D/BDF+D): records' onsets come from their time-keeping TALs.</summary>
    public bool IsDiscontinuous => IsPlus && Reserved.Length > 4 && Reserved[4] == 'D' && AnnotationSignalIndices.Count > 0;

    public int RecordBytes => (int)Math.Min(int.MaxValue, ParsedRecordBytes > 0
        ? ParsedRecordBytes
        : (Signals.Sum(s => (long)s.SamplesPerRecord) + AnnotationSamplesPerRecord) * BytesPerSample);

    /// <summary>Sample rate of a signal, Hz.</summary>
    public double SampleRateHz(int signal) => Signals[signal].SamplesPerRecord / RecordDurationSeconds;

    internal byte[] Serialize()
    {
        var b = new byte[HeaderBytes];
        b.AsSpan().Fill((byte)' ');
        if (Is24Bit)
        {
            b[0] = 0xFF;
            Put(b, 1, 7, "BIOSEMI");
        }
        else
        {
            Put(b, 0, 8, "0");
        }
        Put(b, 8, 80, PatientId);
        Put(b, 88, 80, RecordingId);
        Put(b, 168, 8, StartTime.ToString("dd.MM.yy", CultureInfo.InvariantCulture));
        Put(b, 176, 8, StartTime.ToString("HH.mm.ss", CultureInfo.InvariantCulture));
        Put(b, 184, 8, Int(HeaderBytes));
        Put(b, 192, 44, Reserved);
        Put(b, RecordCountOffset, 8, Int(RecordCount));
        Put(b, 244, 8, Number(RecordDurationSeconds));
        Put(b, 252, 4, Int(TotalSignalCount));

        int ns = TotalSignalCount;
        var all = new List<BdfSignal>(Signals);
        if (AnnotationSamplesPerRecord > 0)
        {
            // The annotations signal: its digital range must differ from its physical range only in being a range.
            all.Add(new BdfSignal(Is24Bit ? AnnotationsLabelBdf : AnnotationsLabelEdf, "", "", -1, 1,
                Is24Bit ? -8_388_608 : -32_768, Is24Bit ? 8_388_607 : 32_767, "", AnnotationSamplesPerRecord));
        }
        int at = FixedSize;
        void Column(int width, Func<BdfSignal, string> value)
        {
            for (int i = 0; i < ns; i++)
            {
                Put(b, at + i * width, width, value(all[i]));
            }
            at += ns * width;
        }
        Column(16, s => s.Label);
        Column(80, s => s.Transducer);
        Column(8, s => s.PhysicalDimension);
        Column(8, s => Number(s.PhysicalMinimum));
        Column(8, s => Number(s.PhysicalMaximum));
        Column(8, s => Int(s.DigitalMinimum));
        Column(8, s => Int(s.DigitalMaximum));
        Column(80, s => s.Prefiltering);
        Column(8, s => Int(s.SamplesPerRecord));
        Column(32, _ => "");
        return b;
    }

    internal static byte[] RecordCountField(long records)
    {
        var b = new byte[8];
        b.AsSpan().Fill((byte)' ');
        Put(b, 0, 8, Int(records));
        return b;
    }

    /// <summary>
    /// Parses a header, as leniently as the standard lets a reader be: the annotations signals may be anywhere (and
    /// several), digital ranges signed or not, any record duration, any number of signals. Inconsistencies that a
    /// reader can resolve are resolved and reported in <paramref name="warnings"/>; what cannot be read throws
    /// <see cref="InvalidDataException"/> naming the field. <paramref name="fileLength"/> bounds what the header may
    /// claim: nothing is allocated beyond what the file holds.
    /// </summary>
    internal static BdfHeader Parse(ReadOnlySpan<byte> fixedPart, Func<int, byte[]> readSignalPart, long fileLength, List<string> warnings)
    {
        if (fixedPart.Length < FixedSize)
        {
            throw new InvalidDataException($"Not an EDF/BDF file: {fixedPart.Length} bytes, shorter than the 256-byte header.");
        }
        bool bdf = fixedPart[0] == 0xFF && Get(fixedPart, 1, 7) == "BIOSEMI";
        bool edf = Get(fixedPart, 0, 8) == "0";
        if (!bdf && !edf)
        {
            throw new InvalidDataException("Not an EDF/BDF file: the version field is neither \"0\" (EDF) nor 0xFF \"BIOSEMI\" (BDF).");
        }
        string reserved = Get(fixedPart, 192, 44);
        long records = ParseLong(fixedPart, RecordCountOffset, 8, "number of data records");
        double duration = ParseDouble(fixedPart, 244, 8, "duration of a data record");
        int ns = ParseInt(fixedPart, 252, 4, "number of signals");
        if (ns < 1)
        {
            throw new InvalidDataException($"Corrupt header: {ns} signals.");
        }
        long expectedHeader = FixedSize + (long)PerSignalSize * ns;
        if (expectedHeader > fileLength)
        {
            throw new InvalidDataException($"Truncated file: {ns} signals need a {expectedHeader}-byte header; the file has {fileLength} bytes.");
        }
        string headerField = Get(fixedPart, 184, 8);
        if (!long.TryParse(headerField, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long headerBytes) || headerBytes != expectedHeader)
        {
            warnings.Add($"The header size field says \"{headerField}\"; {ns} signals make it {expectedHeader} bytes, which is used.");
        }
        if (!(duration >= 0))
        {
            throw new InvalidDataException($"Corrupt header: data record duration {Num(duration)} s.");
        }
        byte[] sig = readSignalPart(PerSignalSize * ns);
        int at = 0;
        string[] Column(int width)
        {
            var values = new string[ns];
            for (int i = 0; i < ns; i++)
            {
                values[i] = Get(sig, at + (i * width), width);
            }
            at += ns * width;
            return values;
        }
        string[] labels = Column(16), transducers = Column(80), dims = Column(8), pmin = Column(8), pmax = Column(8),
            dmin = Column(8), dmax = Column(8), prefilter = Column(80), nsamp = Column(8);
        int bytesPerSample = bdf ? 3 : 2;
        var signals = new List<BdfSignal>();
        var fileIndex = new List<int>();
        var annotationSignals = new List<int>();
        var samplesPerRecord = new int[ns];
        long recordBytes = 0;
        int limit = bdf ? 8_388_607 : 32_767;
        for (int i = 0; i < ns; i++)
        {
            int n = ParseInt(nsamp[i], $"samples per record of signal {i + 1}");
            if (n < 0)
            {
                throw new InvalidDataException($"Corrupt header: signal {i + 1} has {n} samples per record.");
            }
            samplesPerRecord[i] = n;
            recordBytes += (long)n * bytesPerSample;
            if (labels[i] is AnnotationsLabelBdf or AnnotationsLabelEdf)
            {
                annotationSignals.Add(i);
                continue;
            }
            string name = labels[i].Length > 0 ? labels[i] : $"signal {i + 1}";
            int dMin = ParseInt(dmin[i], $"digital minimum of {name}"), dMax = ParseInt(dmax[i], $"digital maximum of {name}");
            double pMin = ParseDouble(pmin[i], $"physical minimum of {name}"), pMax = ParseDouble(pmax[i], $"physical maximum of {name}");
            if (dMax <= dMin)
            {
                throw new InvalidDataException($"Corrupt header: signal {name} has digital maximum {dMax} <= minimum {dMin}.");
            }
            if (dMin < -limit - 1 || dMax > limit)
            {
                warnings.Add($"Signal {name}: digital range {dMin}..{dMax} exceeds what {(bdf ? "24" : "16")}-bit samples can hold.");
            }
            if (!double.IsFinite(pMax - pMin))
            {
                throw new InvalidDataException($"Corrupt header: signal {name}'s physical range {Num(pMin)} to {Num(pMax)} is too wide to compute with.");
            }
            if (pMax == pMin)
            {
                throw new InvalidDataException($"Corrupt header: signal {name} has physical minimum = maximum = {Num(pMin)}: no scale.");
            }
            signals.Add(new BdfSignal(labels[i], transducers[i], dims[i], pMin, pMax, dMin, dMax, prefilter[i], n));
            fileIndex.Add(i);
        }
        if (recordBytes == 0)
        {
            throw new InvalidDataException("Corrupt header: a data record holds no samples.");
        }
        if (duration == 0 && signals.Any(s => s.SamplesPerRecord > 0))
        {
            throw new InvalidDataException("Corrupt header: data record duration 0 s with signals that have samples.");
        }
        long available = Math.Max(0, (fileLength - expectedHeader) / recordBytes);
        if (records < -1)
        {
            warnings.Add($"The header says {records} data records; the file holds {available}, which are read.");
        }
        bool plus = reserved.StartsWith("EDF+", StringComparison.Ordinal) || reserved.StartsWith("BDF+", StringComparison.Ordinal);
        if (plus && annotationSignals.Count == 0)
        {
            warnings.Add($"The header says {reserved} but the file has no annotations signal; read as a plain {(bdf ? "BDF" : "EDF")} file.");
        }
        DateTime start = ParseStart(Get(fixedPart, 168, 8), Get(fixedPart, 176, 8), warnings);
        return new BdfHeader
        {
            Is24Bit = bdf,
            PatientId = Get(fixedPart, 8, 80),
            RecordingId = Get(fixedPart, 88, 80),
            StartTime = start,
            Reserved = reserved,
            RecordCount = records,
            RecordDurationSeconds = duration,
            Signals = signals,
            SignalFileIndex = fileIndex,
            AnnotationSignalIndices = annotationSignals,
            FileSamplesPerRecord = samplesPerRecord,
            AnnotationSamplesPerRecord = annotationSignals.Count > 0 ? samplesPerRecord[annotationSignals[0]] : 0,
            AnnotationSignalIndex = annotationSignals.Count > 0 ? annotationSignals[0] : -1,
            ParsedRecordBytes = recordBytes,
        };
    }

    private static DateTime ParseStart(string date, string time, List<string> warnings)
    {
        // EDF: "dd.mm.yy" and "hh.mm.ss"; some writers use other separators, which the standard does not allow but
        // which cost nothing to accept.
        string d = date.Replace(':', '.').Replace('-', '.').Replace('/', '.'), t = time.Replace(':', '.').Replace('-', '.');
        if (!DateTime.TryParseExact($"{d} {t}", "dd.MM.yy HH.mm.ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime v))
        {
            warnings.Add($"The start date/time \"{date} {time}\" is not dd.mm.yy hh.mm.ss; 01.01.85 00.00.00 is assumed.");
            return new DateTime(1985, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        }
        // EDF's two-digit year: 85-99 are 19xx, 00-84 are 20xx.
        return v.Year >= 2085 ? v.AddYears(-100) : v;
    }

    /// <summary>ASCII, left-aligned, space-padded; characters outside printable ASCII become '_'.</summary>
    private static void Put(byte[] b, int offset, int width, string value)
    {
        if (value.Length > width)
        {
            throw new ArgumentException($"\"{value}\" is longer than the {width}-character header field.");
        }
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            b[offset + i] = c is >= ' ' and <= '~' ? (byte)c : (byte)'_';
        }
    }

    /// <summary>A header field: read as Latin-1 (the standard says ASCII; files in the field carry "µV" as 0xB5), control
    /// characters replaced by '?' so that nothing read from a file can steer a terminal or a log.</summary>
    private static string Get(ReadOnlySpan<byte> b, int offset, int width)
    {
        ReadOnlySpan<byte> field = b.Slice(offset, width);
        Span<char> chars = stackalloc char[field.Length];
        for (int i = 0; i < field.Length; i++)
        {
            byte c = field[i];
            chars[i] = c is < 0x20 or 0x7F or (>= 0x80 and < 0xA0) ? (c == 0 ? ' ' : '?') : (char)c;
        }
        return new string(chars).Trim(' ');
    }

    private static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The most precise decimal that fits the 8-character field.</summary>
    internal static string Number(double v)
    {
        for (int decimals = 7; decimals >= 0; decimals--)
        {
            string s = v.ToString("F" + decimals, CultureInfo.InvariantCulture);
            if (decimals > 0)
            {
                s = s.TrimEnd('0').TrimEnd('.');
            }
            if (s == "-0")
            {
                s = "0";
            }
            if (s.Length <= 8)
            {
                return s;
            }
        }
        throw new ArgumentOutOfRangeException(nameof(v), v, "The value does not fit an 8-character EDF field.");
    }

    private static int ParseInt(ReadOnlySpan<byte> b, int offset, int width, string what) => ParseInt(Get(b, offset, width), what);


    private static long ParseLong(ReadOnlySpan<byte> b, int offset, int width, string what)
    {
        string s = Get(b, offset, width);
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? v : throw new InvalidDataException($"Corrupt header: {what} \"{s}\" is not an integer.");
    }

    private static int ParseInt(string s, string what)
    {
        if (int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
        {
            return v;
        }
        // "-32768.0" and "+5": not what the standard writes, but unambiguous.
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
        {
            return (int)d;
        }
        throw new InvalidDataException($"Corrupt header: {what} \"{s}\" is not an integer.");
    }

    private static double ParseDouble(ReadOnlySpan<byte> b, int offset, int width, string what) => ParseDouble(Get(b, offset, width), what);

    private static double ParseDouble(string s, string what) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw new InvalidDataException($"Corrupt header: {what} \"{s}\" is not a number.");
}
