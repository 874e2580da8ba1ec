using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Recording;

/// <summary>What a recording is about; nothing here may identify a patient beyond the pseudonymous code.</summary>
public sealed record RecordingRequest(string Station, string Session, string PatientCode, IReadOnlyList<string> Labels);

/// <summary>
/// How this project maps a board's stream to BDF+ (docs/recordings.md): one signal per channel holding the raw ADC
/// counts (digital 0..2^bits) with a physical range that makes the physical value microvolts at the electrodes,
/// 1 s data records, a "BDF Annotations" signal last. Gaps and end padding are filled with the channel's
/// zero-volt count and annotated "Gap N samples ..." / "Padding N samples", which replay skips.
/// </summary>
public static partial class RecordingLayout
{
    public const double RecordSeconds = 1;

    /// <summary>Annotation bytes a record keeps for its time-keeping TAL ("+onset" 0x14 0x14 0x00; 12 digits of seconds).</summary>
    public const int TimeKeepingBytes = 16;

    /// <summary>
    /// Bytes of one typical note (marker, connection event) as a TAL: onset, a label of about 30 characters and the
    /// separators. Longer notes use the space of two; a second with more notes than the space holds drops the excess
    /// and counts it (<see cref="Recorder.AnnotationsLost"/>).
    /// </summary>
    public const int NoteBytes = 48;

    /// <summary>
    /// Bytes of the longest calibration note as a TAL: "calibration reused &lt;label, 12&gt; rest &lt;µV&gt; mvc &lt;µV&gt; from &lt;UTC
    /// time&gt;" with each number in its shortest exact form (up to 24 characters), after an onset of up to 14. Reusing a
    /// stored calibration writes one per montage muscle at one instant, far more than the typical notes' room (eight
    /// muscles took about 1 KB where ten notes have 480 bytes, and the end-to-end run of issue 18 saw them dropped), so
    /// every record keeps room for one per channel besides the notes.
    /// </summary>
    public const int CalibrationNoteBytes = 136;

    /// <summary>Bytes kept in every record for what closing a file writes: "Session stop", "Padding N samples", "N annotations lost".</summary>
    public const int CloseBytes = 160;

    public const string SessionStart = "Session start";
    public const string SessionStop = "Session stop";

    public static string GapText(long lost, string cause) => $"Gap {lost} samples ({cause})";

    public static string PaddingText(long samples) => $"Padding {samples} samples";

    public static string LostText(long notes) => $"{notes} annotations lost";

    /// <summary>
    /// Bytes a record's gap note may take: one note per record describes every gap that starts in it (docs/recordings.md),
    /// as a list of runs or, when shorter, a bit mask over the record's instants; the mask bounds it at rate/6 characters.
    /// </summary>
    public static int GapNoteBytes(int sampleRateHz) => 112 + 4 * (((sampleRateHz + 7) / 8 + 2) / 3);

    /// <summary>
    /// Annotation bytes per 1 s record: sized to need (time-keeping, <paramref name="notesPerSecond"/> typical notes, one
    /// calibration note per channel of <paramref name="channels"/>, one gap note, the closing notes), so a record never
    /// needs a record of padding to carry its notes.
    /// </summary>
    public static int AnnotationBytes(int sampleRateHz, int notesPerSecond, int channels = 0) =>
        TimeKeepingBytes + notesPerSecond * NoteBytes + channels * CalibrationNoteBytes + GapNoteBytes(sampleRateHz) + CloseBytes;

    /// <summary>Samples of the annotations signal per record (3 bytes each in BDF, 2 in EDF).</summary>
    public static int AnnotationSamples(int sampleRateHz, int notesPerSecond, bool is24Bit, int channels = 0)
    {
        int bps = is24Bit ? 3 : 2;
        return (AnnotationBytes(sampleRateHz, notesPerSecond, channels) + bps - 1) / bps;
    }

    [GeneratedRegex(@"^(Gap|Padding) (\d+) samples")]
    private static partial Regex SkipPattern();

    [GeneratedRegex(@"^Gap (\d+) samples in (\d+) gaps \(.*\): (?:mask ([A-Za-z0-9+/=]+)|((?:\d+\+\d+ ?)+))$")]
    private static partial Regex GapListPattern();

    /// <summary>When <paramref name="text"/> marks filled samples (a gap or end padding): how many (all runs of a gap list).</summary>
    public static bool TryParseFill(string text, out long samples, out bool isGap)
    {
        Match m = SkipPattern().Match(text);
        samples = 0;
        isGap = false;
        // A count that does not fit (a crafted or damaged note) is not a fill: the note stays an ordinary annotation.
        if (!m.Success || !long.TryParse(m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out samples))
        {
            samples = 0;
            return false;
        }
        isGap = m.Groups[1].Value == "Gap";
        return true;
    }

    /// <summary>
    /// The filled runs an annotation describes, as exact file instants: "Gap N samples (cause)" and "Padding N samples"
    /// are one run from the onset; a gap list ("Gap N samples in K gaps (cause): 0+1 6+2 ..." or "...: mask &lt;base64&gt;")
    /// is several. Returns false for any other note. Readers must use this (not the onset and <see cref="TryParseFill"/>'s
    /// total) to keep the timeline exact.
    /// </summary>
    public static bool TryParseFills(BdfAnnotation annotation, double sampleRateHz, ICollection<(long Start, long Count, bool IsGap)> fills)
    {
        var parsed = new List<(long Start, long Count, bool IsGap)>();
        try
        {
            if (!TryParseFillsCore(annotation, sampleRateHz, parsed))
            {
                return false;
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return false; // a damaged list: the note stays an ordinary annotation
        }
        foreach (var f in parsed)
        {
            fills.Add(f);
        }
        return true;
    }

    private static bool TryParseFillsCore(BdfAnnotation annotation, double sampleRateHz, ICollection<(long Start, long Count, bool IsGap)> fills)
    {
        if (!TryParseFill(annotation.Text, out long total, out bool isGap))
        {
            return false;
        }
        double at0 = Math.Round(annotation.OnsetSeconds * sampleRateHz);
        if (!(at0 is >= 0 and < long.MaxValue / 4))
        {
            return false;
        }
        long onset = (long)at0;
        Match list = GapListPattern().Match(annotation.Text);
        if (!list.Success)
        {
            fills.Add((onset, total, isGap));
            return true;
        }
        long at = onset;
        if (list.Groups[3].Success)
        {
            byte[] mask = Convert.FromBase64String(list.Groups[3].Value);
            long runStart = -1;
            for (int i = 0; i <= mask.Length * 8; i++)
            {
                bool filled = i < mask.Length * 8 && (mask[i >> 3] & (1 << (i & 7))) != 0;
                if (filled && runStart < 0)
                {
                    runStart = i;
                }
                else if (!filled && runStart >= 0)
                {
                    fills.Add((onset + runStart, i - runStart, true));
                    runStart = -1;
                }
            }
            return true;
        }
        foreach (string run in list.Groups[4].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int plus = run.IndexOf('+');
            at += long.Parse(run.AsSpan(0, plus), CultureInfo.InvariantCulture);
            long count = long.Parse(run.AsSpan(plus + 1), CultureInfo.InvariantCulture);
            fills.Add((at, count, true));
            at += count;
        }
        return true;
    }

    /// <summary>
    /// The note for several gaps that start in one record, relative to the first gap's start (the note's onset):
    /// runs "skip+count" (recorded instants since the previous run's end, then filled instants), or a base64 bit mask
    /// (bit i = instant onset+i is filled, least significant bit first) when that is shorter.
    /// </summary>
    public static string GapListText(IReadOnlyList<(long Start, long Count)> runs, string cause)
    {
        long total = 0;
        var list = new StringBuilder();
        long end = runs[0].Start;
        foreach ((long start, long count) in runs)
        {
            list.Append(CultureInfo.InvariantCulture, $"{start - end}+{count} ");
            end = start + count;
            total += count;
        }
        list.Length--;
        string head = $"Gap {total} samples in {runs.Count} gaps ({cause}): ";
        long span = end - runs[0].Start;
        long maskChars = 4 * (((span + 7) / 8 + 2) / 3);
        if (maskChars + 5 < list.Length)
        {
            var mask = new byte[(span + 7) / 8];
            foreach ((long start, long count) in runs)
            {
                for (long i = start - runs[0].Start; i < start - runs[0].Start + count; i++)
                {
                    mask[i >> 3] |= (byte)(1 << (int)(i & 7));
                }
            }
            return head + "mask " + Convert.ToBase64String(mask);
        }
        return head + list;
    }

    public static double MicrovoltsPerCount(BoardInfo board, double gain) =>
        board.ReferenceMillivolts * 1000.0 / (1 << board.AdcBits) / gain;

    /// <summary>The largest count a file of <paramref name="is24Bit"/> format holds for an ADC of <paramref name="bits"/>.</summary>
    public static int MaxBits(bool is24Bit) => is24Bit ? 24 : 16;

    /// <summary>
    /// What is subtracted from a count to store it: 0 when the unsigned range 0..2^bits fits the format's digital
    /// range (BDF up to 22 bits, EDF up to 14), else 2^(bits-1) (the counts are stored signed around mid-scale).
    /// </summary>
    public static int DigitalShift(int bits, bool is24Bit) => (1L << bits) <= (is24Bit ? 8_388_607 : 32_767) ? 0 : 1 << (bits - 1);

    public static BdfHeader BuildHeader(BoardInfo board, RecordingRequest request, RecorderOptions options, DateTime start, bool is24Bit = true, SourceKind source = SourceKind.Unknown)
    {
        if (board.Scales is { } scales && is24Bit)
        {
            return BuildHeaderFromScales(board, scales, request, options, start, source);
        }
        if (board.AdcBits < 1 || board.AdcBits > MaxBits(is24Bit))
        {
            throw new ArgumentException($"ADC resolution {board.AdcBits} bits: {(is24Bit ? "BDF" : "EDF")} holds 1 to {MaxBits(is24Bit)} bits.");
        }
        long full = 1L << board.AdcBits;
        int shift = DigitalShift(board.AdcBits, is24Bit);
        int digitalMax = (int)Math.Min(full - shift, is24Bit ? 8_388_607 : 32_767);
        var signals = new BdfSignal[board.ChannelCount];
        for (int c = 0; c < board.ChannelCount; c++)
        {
            double gain = c < options.ChannelGains.Count ? options.ChannelGains[c] : options.SensorGain;
            double offset = options.AdcOffsetCounts ?? full / 2;
            double uvPerCount = MicrovoltsPerCount(board, gain);
            signals[c] = new BdfSignal(
                SignalLabel(request, c),
                Truncate(string.Create(CultureInfo.InvariantCulture, $"sEMG surface electrodes, sensor gain {gain:0.###}, ADC {board.AdcBits} bit {board.ReferenceMillivolts} mV"), 80),
                "uV",
                // Digital range 0..2^bits (one past the largest count) so that the physical range is exactly
                // +-Vref/2/gain for a mid-scale offset: the 8-character fields then hold it without rounding.
                (0 - offset) * uvPerCount,
                (digitalMax + shift - offset) * uvPerCount,
                -shift,
                digitalMax,
                "None (raw ADC counts)",
                board.SampleRateHz);
        }
        return Header(signals, board, request, options, start, is24Bit, source);
    }

    /// <summary>EDF+'s signal type of a surface EMG channel: labels are "EMG &lt;muscle&gt;" (e.g. "EMG SCM L"), so
    /// EDFbrowser and MNE type them as EMG.</summary>
    public const string EmgLabelPrefix = "EMG ";

    /// <summary>A channel's label in the file: "EMG " and the session's label as <see cref="ChannelLabels.Recorded"/> keeps it
    /// (at most 12 characters; "CH&lt;n&gt;" when it has none).</summary>
    public static string SignalLabel(RecordingRequest request, int channel) =>
        EmgLabelPrefix + ChannelLabels.Recorded(channel < request.Labels.Count ? request.Labels[channel] : null, channel);

    /// <summary>
    /// True for the annotations the station writes about itself (session start and stop, gaps, padding, lost notes,
    /// the source, device events): never a clinician's marker.
    /// </summary>
    public static bool IsStationNote(string text) =>
        text is SessionStart or SessionStop
        || text.StartsWith("Gap ", StringComparison.Ordinal) || text.StartsWith("Gaps ", StringComparison.Ordinal)
        || text.StartsWith("Padding ", StringComparison.Ordinal) || text.EndsWith(" annotations lost", StringComparison.Ordinal)
        || text.StartsWith("Source", StringComparison.Ordinal) || text.StartsWith("Board reconfigured", StringComparison.Ordinal)
        || text.StartsWith("Imported from ", StringComparison.Ordinal)
        || Enum.GetNames<StationEventKind>().Any(k => text.StartsWith(k + ": ", StringComparison.Ordinal));

    /// <summary>A label as a display and the history name the channel: without the "EMG " type EDF+ puts first.</summary>
    public static string DisplayLabel(string fileLabel) =>
        fileLabel.StartsWith(EmgLabelPrefix, StringComparison.Ordinal) && fileLabel.Length > EmgLabelPrefix.Length ? fileLabel[EmgLabelPrefix.Length..] : fileLabel;

    /// <summary>The words the recording field uses for each source kind: the 5th subfield, after the equipment.</summary>
    public static string SourceWord(SourceKind source) => source switch
    {
        SourceKind.SerialBoard => "serial-board",
        SourceKind.SimulatedBoard => "SIMULATED",
        SourceKind.Replay => "REPLAY",
        _ => "",
    };

    /// <summary>The source a recording field names (see <see cref="SourceWord"/>), or <see cref="SourceKind.Unknown"/>.</summary>
    public static SourceKind ParseSource(string recordingId)
    {
        string[] f = recordingId.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length > 6 ? f[6] switch
        {
            "serial-board" => SourceKind.SerialBoard,
            "SIMULATED" => SourceKind.SimulatedBoard,
            "REPLAY" => SourceKind.Replay,
            _ => SourceKind.Unknown,
        } : SourceKind.Unknown;
    }

    /// <summary>"Startdate dd-MMM-yyyy &lt;session&gt; X &lt;station&gt; &lt;board&gt;-fw&lt;version&gt; &lt;source&gt;": the session and the
    /// station kept whole (the equipment subfield gives way to the 80 characters), the source last.</summary>
    private static string RecordingId(DateTime start, RecordingRequest request, BoardInfo board, SourceKind source)
    {
        string head = string.Create(CultureInfo.InvariantCulture,
            $"Startdate {start.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant()} {Field(request.Session)} X {Field(request.Station)} ");
        string tail = SourceWord(source) is { Length: > 0 } word ? " " + word : "";
        string equipment = Field($"{board.BoardName}-fw{board.FirmwareVersion}");
        int room = 80 - head.Length - tail.Length;
        return Truncate(head + Truncate(equipment, Math.Max(1, room)) + tail, 80);
    }

    /// <summary>
    /// The header of a recording made from a source that gave its own scales (a replay): each channel's counts as
    /// digital values over its own count range, its physical range from its scale, so the file keeps the source's
    /// calibration, never the station's sensor gain.
    /// </summary>
    private static BdfHeader BuildHeaderFromScales(BoardInfo board, IReadOnlyList<ChannelScale> scales, RecordingRequest request, RecorderOptions options, DateTime start, SourceKind source)
    {
        var signals = new BdfSignal[board.ChannelCount];
        for (int c = 0; c < board.ChannelCount; c++)
        {
            ChannelScale s = scales[c];
            signals[c] = new BdfSignal(
                SignalLabel(request, c),
                // The exact scale, which the 8-character physical fields can only approximate: read back by RecordingFile.
                Truncate(string.Create(CultureInfo.InvariantCulture, $"sEMG, replayed: {s.MicrovoltsPerCount:R} uV per count, zero {s.ZeroCount:R}"), 80),
                "uV",
                double.Parse(BdfHeader.Number((s.MinCount - s.ZeroCount) * s.MicrovoltsPerCount), CultureInfo.InvariantCulture),
                double.Parse(BdfHeader.Number((s.MaxCount - s.ZeroCount) * s.MicrovoltsPerCount), CultureInfo.InvariantCulture),
                s.MinCount,
                s.MaxCount,
                "None (the replayed recording's counts)",
                board.SampleRateHz);
        }
        return Header(signals, board, request, options, start, true, source);
    }

    /// <summary>A recording's header around its signals: the pseudonymous patient, the recording field, 1 s records,
    /// the annotations signal sized to need.</summary>
    private static BdfHeader Header(BdfSignal[] signals, BoardInfo board, RecordingRequest request, RecorderOptions options, DateTime start, bool is24Bit, SourceKind source) => new()
    {
        Is24Bit = is24Bit,
        PatientId = $"{Field(request.PatientCode)} X X X",
        RecordingId = RecordingId(start, request, board, source),
        StartTime = start,
        Reserved = is24Bit ? "BDF+C" : "EDF+C",
        RecordDurationSeconds = RecordSeconds,
        Signals = signals,
        AnnotationSamplesPerRecord = AnnotationSamples(board.SampleRateHz, options.NotesPerSecond, is24Bit, signals.Length),
    };

    /// <summary>The digital value of 0 V on a signal: what gaps and padding are filled with.</summary>
    public static int ZeroCount(BdfSignal s) => (int)Math.Round(s.DigitalMinimum - s.PhysicalMinimum / s.UnitsPerDigit);

    /// <summary>The longest header subfield kept (a session id is at most 32 characters, and is kept whole).</summary>
    public const int FieldLength = 32;

    /// <summary>An EDF+ subfield: no spaces, printable ASCII, "X" when empty.</summary>
    private static string Field(string s)
    {
        string t = new(s.Trim().Select(c => c is > ' ' and <= '~' ? c : '_').ToArray());
        return t.Length == 0 ? "X" : Truncate(t, FieldLength);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
