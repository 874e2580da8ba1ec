using System.Globalization;
using System.Text.RegularExpressions;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording opened for replay, processing or export: any EDF/EDF+/BDF/BDF+ file, ours or another tool's. It
/// chooses the signals it runs through the signal chain (the voltage signals at one rate, or those named), gives each
/// its scale from the file's own calibration (physical and digital ranges, physical dimension µV, mV or V), and reads
/// them record by record as interleaved counts on the file's own timeline: an EDF+D file's gaps, and the gaps and end
/// padding this project's recorder notes, are marked as instants not recorded.
/// </summary>
public sealed partial class RecordingFile : IDisposable
{
    private readonly BdfReader _reader;
    private readonly int[] _digital;
    private readonly int[] _signalStart; // where each chosen signal's samples start in a record read
    private readonly int[] _shift;       // subtracted from each chosen signal's digital values to give its counts
    private readonly (long Start, long End)[] _unrecorded;

    /// <summary>Opens <paramref name="path"/> and chooses its signals: <paramref name="signalLabels"/> by label, or by
    /// default every voltage signal at the rate most of them share.</summary>
    public RecordingFile(string path, IReadOnlyList<string>? signalLabels = null)
    {
        _reader = new BdfReader(path);
        try
        {
            Path = path;
            BdfHeader h = _reader.Header;
            if (_reader.RecordCount == 0)
            {
                throw new InvalidDataException($"{System.IO.Path.GetFileName(path)}: it holds no complete data record.");
            }
            Chosen = Choose(h, signalLabels, out string? note);
            Note = note;
            BdfSignal first = h.Signals[Chosen[0]];
            SamplesPerRecord = first.SamplesPerRecord;
            SampleRateHz = first.SamplesPerRecord / h.RecordDurationSeconds;
            if (!(SampleRateHz <= MaxSampleRateHz))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{System.IO.Path.GetFileName(path)}: its rate, {first.SamplesPerRecord} samples per {h.RecordDurationSeconds:G6} s record = {SampleRateHz:G6} Hz, is above the {MaxSampleRateHz} Hz the signal chain runs (sEMG is sampled at 0.5-10 kHz)."));
            }
            Labels = Chosen.Select(i => h.Signals[i].Label.Length > 0 ? RecordingLayout.DisplayLabel(h.Signals[i].Label) : Sessions.ChannelLabels.Default(i)).ToArray();
            RecordedSource = RecordingLayout.ParseSource(h.RecordingId);
            Scales = Chosen.Select(i => ScaleOf(h.Signals[i])).ToArray();
            _shift = Chosen.Select(i => ShiftOf(h.Signals[i])).ToArray();
            _signalStart = Chosen.Select(_reader.SampleOffset).ToArray();
            FitsUInt16 = Scales.All(s => s.FitsUInt16);
            Annotations = _reader.ReadAnnotations();
            _unrecorded = Unrecorded(Annotations, SampleRateHz);
            RecordStarts = new long[_reader.RecordCount];
            for (long r = 0; r < _reader.RecordCount; r++)
            {
                RecordStarts[r] = _reader.RecordStart(r, SamplesPerRecord);
            }
            Board = DescribeBoard(h, first);
            _digital = new int[_reader.SamplesPerRecord];
        }
        catch
        {
            _reader.Dispose();
            throw;
        }
    }

    /// <summary>The highest rate a recording is processed at: far above any sEMG amplifier's, low enough that the chain's
    /// windows (sized in samples) stay small whatever a header claims.</summary>
    public const double MaxSampleRateHz = 100_000;

    public string Path { get; }
    public BdfHeader Header => _reader.Header;

    /// <summary>
    /// The recording as a board for the live path (replay): channel count, rate, the ADC described by the file, and the
    /// file's own <see cref="Scales"/>, which the signal chain uses instead of the station's sensor gain.
    /// </summary>
    public BoardInfo Board { get; }

    /// <summary>Rate of the chosen signals, Hz (samples per record / record duration; not always whole).</summary>
    public double SampleRateHz { get; }

    /// <summary>Samples per record of each chosen signal.</summary>
    public int SamplesPerRecord { get; }

    public int ChannelCount => Labels.Count;

    /// <summary>Indices into <see cref="BdfHeader.Signals"/> of the chosen signals.</summary>
    public IReadOnlyList<int> Chosen { get; }

    /// <summary>The chosen signals' labels as displays and history name them: without EDF+'s "EMG " type.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The source this project's recorder wrote in the header (a patient's board, the simulated board, a
    /// replay), or <see cref="SourceKind.Unknown"/> for another tool's file.</summary>
    public SourceKind RecordedSource { get; }

    /// <summary>Per chosen signal: what its counts (as <see cref="ReadRecord(long, Span{int}, Span{bool})"/> gives them) mean.</summary>
    public IReadOnlyList<ChannelScale> Scales { get; }

    /// <summary>Whether the chosen signals' counts fit 16 bits unsigned (the wire format and the vector kernel).</summary>
    public bool FitsUInt16 { get; }

    /// <summary>What the choice of signals left out, or null.</summary>
    public string? Note { get; }

    public IReadOnlyList<BdfAnnotation> Annotations { get; }

    /// <summary>What the reader resolved (header inconsistencies, skipped annotations).</summary>
    public IReadOnlyList<string> Warnings => _reader.Warnings;

    public long RecordCount => _reader.RecordCount;
    public bool Truncated => _reader.Truncated;

    /// <summary>The instant (on the file's timeline, at <see cref="SampleRateHz"/>) at which each record starts.</summary>
    public long[] RecordStarts { get; }

    /// <summary>Sample instants on the file's timeline, up to the end of its last record (gaps included).</summary>
    public long Instants => RecordCount == 0 ? 0 : RecordStarts[^1] + SamplesPerRecord;

    /// <summary>
    /// Reads record <paramref name="record"/>: counts interleaved (instant-major, <see cref="ChannelCount"/> per
    /// instant) and, per instant, whether it was recorded (false where the recorder filled a gap or padded).
    /// </summary>
    public void ReadRecord(long record, Span<int> interleaved, Span<bool> recorded)
    {
        _reader.ReadRecord(record, _digital);
        int n = SamplesPerRecord, channels = ChannelCount;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<int> signal = _digital.AsSpan(_signalStart[c], n);
            int shift = _shift[c];
            for (int i = 0; i < n; i++)
            {
                interleaved[(i * channels) + c] = signal[i] - shift;
            }
        }
        MarkRecorded(record, recorded);
    }

    /// <summary>
    /// As <see cref="ReadRecord(long, Span{int}, Span{bool})"/> in 16 bits (<see cref="FitsUInt16"/> files): a value
    /// outside the signal's declared digital range is held at the rail, as an ADC would, and counted in
    /// <see cref="OutOfRangeSamples"/>.
    /// </summary>
    public void ReadRecord(long record, Span<ushort> interleaved, Span<bool> recorded)
    {
        if (!FitsUInt16)
        {
            throw new InvalidOperationException("This recording's counts do not fit 16 bits.");
        }
        _reader.ReadRecord(record, _digital);
        int n = SamplesPerRecord, channels = ChannelCount;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<int> signal = _digital.AsSpan(_signalStart[c], n);
            int shift = _shift[c], min = Scales[c].MinCount, max = Scales[c].MaxCount;
            for (int i = 0; i < n; i++)
            {
                int v = signal[i] - shift;
                if (v < min || v > max)
                {
                    OutOfRangeSamples++;
                    v = Math.Clamp(v, min, max);
                }
                interleaved[(i * channels) + c] = (ushort)v;
            }
        }
        MarkRecorded(record, recorded);
    }

    /// <summary>Digital values outside their signal's declared range, held at the rail in 16-bit reads.</summary>
    public long OutOfRangeSamples { get; private set; }

    public void Dispose() => _reader.Dispose();

    /// <summary>Microvolts per physical unit of a voltage dimension ("uV", "µV", "mV", "V", "nV"); null for anything else.</summary>
    public static double? MicrovoltsPerUnit(string physicalDimension) => physicalDimension.Trim() switch
    {
        "uV" or "µV" or "μV" or "uv" or "UV" or "Âµ" + "V" => 1, // the last: "µV" written as UTF-8 and read as Latin-1
        "mV" or "mv" => 1e3,
        "V" or "v" => 1e6,
        "nV" or "nv" => 1e-3,
        "kV" => 1e9,
        _ => null,
    };

    /// <summary>The exact physical value of a digital value: what MNE and EDFbrowser compute (no rounding of 0 V).</summary>
    public static double ToPhysical(BdfSignal s, int digital) =>
        s.PhysicalMinimum + ((digital - (double)s.DigitalMinimum) * ((s.PhysicalMaximum - s.PhysicalMinimum) / ((double)s.DigitalMaximum - s.DigitalMinimum)));

    [GeneratedRegex(@"ADC (\d+) bit (\d+) mV")]
    private static partial Regex AdcPattern();

    [GeneratedRegex(@"sensor gain ([0-9.]+)")]
    private static partial Regex GainPattern();

    private void MarkRecorded(long record, Span<bool> recorded) => Mark(_unrecorded, RecordStarts[record], recorded[..SamplesPerRecord]);

    /// <summary>The instants this project's recorder filled (gaps, end padding), as its notes say, at <paramref name="rate"/>:
    /// sorted, disjoint [start, end) intervals.</summary>
    public static (long Start, long End)[] Unrecorded(IEnumerable<BdfAnnotation> annotations, double rate)
    {
        var fills = new List<(long Start, long Count, bool IsGap)>();
        foreach (BdfAnnotation a in annotations)
        {
            RecordingLayout.TryParseFills(a, rate, fills);
        }
        return Merge(fills.Select(f => (f.Start, f.Count)));
    }

    /// <summary>Sorted, disjoint [start, end) intervals covering the given ones.</summary>
    private static (long Start, long End)[] Merge(IEnumerable<(long Start, long Count)> fills)
    {
        var merged = new List<(long Start, long End)>();
        foreach ((long start, long count) in fills.Where(f => f.Count > 0).OrderBy(f => f.Start))
        {
            long end = start + Math.Min(count, long.MaxValue - Math.Max(0, start));
            if (merged.Count > 0 && start <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, end));
            }
            else
            {
                merged.Add((start, end));
            }
        }
        return merged.ToArray();
    }

    /// <summary>Sets <paramref name="recorded"/> (instants from <paramref name="first"/> on) false where an interval covers them.</summary>
    public static void Mark((long Start, long End)[] unrecorded, long first, Span<bool> recorded)
    {
        recorded.Fill(true);
        long end = first + recorded.Length;
        // The first interval that ends after `first`.
        int lo = 0, hi = unrecorded.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (unrecorded[mid].End <= first)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (int k = lo; k < unrecorded.Length && unrecorded[k].Start < end; k++)
        {
            long a = Math.Max(unrecorded[k].Start, first), b = Math.Min(unrecorded[k].End, end);
            recorded[(int)(a - first)..(int)(b - first)].Fill(false);
        }
    }

    /// <summary>The signals to run: those named, else every voltage signal at the rate most of them share.</summary>
    private static int[] Choose(BdfHeader h, IReadOnlyList<string>? labels, out string? note)
    {
        note = null;
        if (labels is { Count: > 0 })
        {
            var chosen = new List<int>();
            foreach (string label in labels)
            {
                int i = FindLabel(h, label);
                if (i >= 0 && chosen.Contains(i))
                {
                    throw new InvalidDataException($"signal \"{label}\" is chosen twice.");
                }
                if (i < 0)
                {
                    throw new InvalidDataException($"no signal is labelled \"{label}\"; the file has: {Describe(h, Enumerable.Range(0, h.Signals.Count))}.");
                }
                if (MicrovoltsPerUnit(h.Signals[i].PhysicalDimension) is null)
                {
                    throw new InvalidDataException($"signal \"{label}\" is in \"{h.Signals[i].PhysicalDimension}\", not a voltage (µV, mV or V): the signal chain takes sEMG voltages only.");
                }
                chosen.Add(i);
            }
            var rates = chosen.Select(i => h.Signals[i].SamplesPerRecord).Distinct().ToArray();
            if (rates.Length > 1)
            {
                throw new InvalidDataException($"the chosen signals have different rates and cannot run as one board: {RateGroups(h, chosen)}; choose signals of one rate.");
            }
            return chosen.ToArray();
        }
        var voltage = Enumerable.Range(0, h.Signals.Count).Where(i => MicrovoltsPerUnit(h.Signals[i].PhysicalDimension) is not null && h.Signals[i].SamplesPerRecord > 0).ToList();
        if (voltage.Count == 0)
        {
            throw new InvalidDataException(h.Signals.Count == 0
                ? "it has no signals, only annotations."
                : $"none of its signals is a voltage (µV, mV or V): {Describe(h, Enumerable.Range(0, h.Signals.Count))}.");
        }
        int rate = voltage.GroupBy(i => h.Signals[i].SamplesPerRecord).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First().Key;
        int[] group = voltage.Where(i => h.Signals[i].SamplesPerRecord == rate).ToArray();
        var left = Enumerable.Range(0, h.Signals.Count).Except(group).ToArray();
        if (left.Length > 0)
        {
            note = $"Running the {group.Length} voltage signals at {Hz(h, group[0])}; not run: {Describe(h, left)} (choose with --signals).";
        }
        return group;
    }

    /// <summary>The signal a label names (exactly, else ignoring case); -1 for none; an error when it names several.</summary>
    internal static int FindLabel(BdfHeader h, string label)
    {
        int matches = h.Signals.Count(s => string.Equals(s.Label, label.Trim(), StringComparison.Ordinal));
        if (matches > 1)
        {
            throw new InvalidDataException($"{matches} signals are labelled \"{label.Trim()}\": the label does not say which.");
        }
        for (int i = 0; i < h.Signals.Count; i++)
        {
            if (string.Equals(h.Signals[i].Label, label.Trim(), StringComparison.Ordinal))
            {
                return i;
            }
        }
        for (int i = 0; i < h.Signals.Count; i++)
        {
            if (string.Equals(h.Signals[i].Label, label.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    internal static string Hz(BdfHeader h, int signal) =>
        (h.Signals[signal].SamplesPerRecord / h.RecordDurationSeconds).ToString("0.###", CultureInfo.InvariantCulture) + " Hz";

    private static string Describe(BdfHeader h, IEnumerable<int> signals) =>
        string.Join(", ", signals.Select(i => $"\"{h.Signals[i].Label}\" ({Hz(h, i)}, {(h.Signals[i].PhysicalDimension.Length > 0 ? h.Signals[i].PhysicalDimension : "no unit")})"));

    private static string RateGroups(BdfHeader h, IEnumerable<int> signals) =>
        string.Join("; ", signals.GroupBy(i => h.Signals[i].SamplesPerRecord).Select(g => $"{Hz(h, g.First())}: {string.Join(", ", g.Select(i => h.Signals[i].Label))}"));

    /// <summary>What is subtracted from a signal's digital values to give its counts: nothing when its declared range fits
    /// 16 bits unsigned (this project's recordings: the ADC's own counts), else its digital minimum when the range's
    /// width fits 16 bits (a signed EDF range), else nothing (wide counts).</summary>
    private static int ShiftOf(BdfSignal s) =>
        s.DigitalMinimum >= 0 && s.DigitalMaximum <= ushort.MaxValue ? 0
        : (long)s.DigitalMaximum - s.DigitalMinimum <= ushort.MaxValue ? s.DigitalMinimum
        : 0;

    /// <summary>
    /// A signal's scale from its own header: µV per digital step and the (fractional) digital value of 0 V, exactly as
    /// the physical value is defined. For this project's recordings, whose transducer field names the ADC and the
    /// sensor gain, the same doubles the live chain used (so replay equals live bit for bit) whenever they agree with
    /// the header's ranges; the rails are then the ADC's.
    /// </summary>
    private static ChannelScale ScaleOf(BdfSignal s)
    {
        double perUnit = MicrovoltsPerUnit(s.PhysicalDimension) ?? throw new InvalidDataException($"signal \"{s.Label}\" is not a voltage.");
        double unitsPerDigit = (s.PhysicalMaximum - s.PhysicalMinimum) / ((double)s.DigitalMaximum - s.DigitalMinimum);
        double perCount = unitsPerDigit * perUnit;
        double zero = s.DigitalMinimum - (s.PhysicalMinimum / unitsPerDigit);
        int shift = ShiftOf(s);
        Match adc = AdcPattern().Match(s.Transducer), gain = GainPattern().Match(s.Transducer);
        if (adc.Success && gain.Success && shift == 0
            && int.TryParse(adc.Groups[1].Value, CultureInfo.InvariantCulture, out int bits) && bits is >= 1 and <= 16
            && int.TryParse(adc.Groups[2].Value, CultureInfo.InvariantCulture, out int refMv) && refMv > 0
            && double.TryParse(gain.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double g) && g > 0)
        {
            double roundedZero = Math.Round(zero);
            ChannelScale own = ChannelScale.ForAdc(bits, refMv, g, Math.Abs(zero - roundedZero) < 1e-6 ? roundedZero : zero);
            if (Math.Abs(own.MicrovoltsPerCount - perCount) <= 1e-6 * Math.Abs(perCount))
            {
                return own;
            }
        }
        // A recording of a replayed source keeps the source's exact scale in its transducer field (the 8-character
        // physical fields round it to about 1e-7): taken when it agrees with them.
        Match replayed = ReplayedScalePattern().Match(s.Transducer);
        if (replayed.Success && shift == 0
            && double.TryParse(replayed.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double exactPerCount)
            && double.TryParse(replayed.Groups[2].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double exactZero)
            && Math.Abs(exactPerCount - perCount) <= 1e-6 * Math.Abs(perCount) && Math.Abs(exactZero - zero) <= 1e-2)
        {
            return new ChannelScale(exactPerCount, exactZero, s.DigitalMinimum, s.DigitalMaximum);
        }
        return new ChannelScale(perCount, zero - shift, s.DigitalMinimum - shift, s.DigitalMaximum - shift);
    }

    [GeneratedRegex(@"replayed: ([-+0-9.eE]+) uV per count, zero ([-+0-9.eE]+)")]
    private static partial Regex ReplayedScalePattern();

    /// <summary>The recording as a board: its channels and rate, the ADC its header describes, and its own scales.</summary>
    private BoardInfo DescribeBoard(BdfHeader h, BdfSignal first)
    {
        long span = Scales.Max(s => (long)s.MaxCount - s.MinCount);
        int bits = (int)Math.Clamp(Math.Ceiling(Math.Log2(span + 1.0)), 1, 16);
        int refMv = 0;
        Match m = AdcPattern().Match(first.Transducer);
        if (m.Success && int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out int b) && b is >= 1 and <= 16
            && int.TryParse(m.Groups[2].Value, CultureInfo.InvariantCulture, out int r))
        {
            bits = b;
            refMv = r;
        }
        int rate = SampleRateHz is >= 1 and <= ushort.MaxValue && SampleRateHz == Math.Floor(SampleRateHz) ? (int)SampleRateHz : 0;
        return new BoardInfo(WireFormat.ProtocolVersion, 0, 0, 0, ChannelCount, rate, bits, refMv, true, 0, "replay") { Scales = Scales };
    }

    /// <summary>Why this recording cannot be replayed as a board through the wire format (at most 16 signals of one
    /// whole-Hz rate; 32-bit counts travel as WIDE_SAMPLES frames), or null when it can.</summary>
    public string? ReplayRefusal()
    {
        if (ChannelCount > WireFormat.MaxChannels)
        {
            return $"it has {ChannelCount} voltage signals at this rate; a replay runs at most {WireFormat.MaxChannels} (choose some by label)";
        }
        if (Board.SampleRateHz == 0)
        {
            return $"its rate, {SampleRateHz.ToString("0.######", CultureInfo.InvariantCulture)} Hz, is not a whole number of Hz between 1 and {ushort.MaxValue}";
        }
        if (Instants > uint.MaxValue)
        {
            return $"its timeline ({Instants} sample instants, gaps included) is longer than a replay can number ({uint.MaxValue}); `emg process` runs it";
        }
        return null;
    }
}
