using System.Globalization;
using System.Text;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording;

/// <summary>How imported counts become microvolts: the ADC and sensor the foreign recording came from.</summary>
/// <param name="ReferenceMillivolts">ADC reference. BioSPPy's examples come from BITalino: VCC 3.3 V.</param>
/// <param name="SensorGain">Electrode-to-ADC gain. BITalino's EMG sensor: 1009 (datasheet transfer function).</param>
/// <param name="AdcBits">ADC resolution; overrides a text file's "Resolution:=" (required for CSV).</param>
/// <param name="SampleRateHz">Sample rate; overrides a text file's "Sampling Rate (Hz):=" (required for CSV).</param>
public sealed record ImportScaling(int ReferenceMillivolts = 3300, double SensorGain = 1009, int? AdcBits = null, double? SampleRateHz = null);

/// <summary>What an import wrote: the channels' labels, the rate (and whether the CSV's time column gave it), the
/// samples per channel and the events written as annotations.</summary>
public sealed record ImportResult(string Destination, IReadOnlyList<string> Labels, int SampleRateHz, bool RateFromTimeColumn, long Samples, int Events);

/// <summary>
/// Converts foreign sample files into this project's recordings, so they replay and process like sessions:
/// BioSPPy's "Simple Text Format" ('#' header lines with "Sampling Rate (Hz):=", "Resolution:=", "Labels:=", then
/// one row of counts per line) and plain CSV (an optional header row of labels, one row per instant, one count per
/// column; a header column named time, time_s or timestamp is the time in seconds, not a channel, and gives the rate
/// when no option does). Labels may come from the options instead; events from a BIDS-style events file
/// (<see cref="ImportEvents"/>) become annotations. The destination's extension chooses the format: ".bdf" BDF+ (24-bit),
/// ".edf" EDF+ (16-bit). The input is streamed (one record in memory, lines capped at <see cref="MaxLineChars"/>; a CSV
/// whose rate comes from its time column is read twice); the output appears only when complete.
/// </summary>
public static class Importers
{
    /// <summary>The longest line read: far more than 16 columns of counts need; a longer one is refused, not buffered.</summary>
    public const int MaxLineChars = 65_536;

    /// <summary>The highest sample rate imported (Hz); a 1 s record of 16 channels then stays under 4 MB.</summary>
    public const int MaxSampleRateHz = 65_535;

    /// <summary>How far a CSV's time column may put the rate from the one used (a whole number of Hz): 0.1 %.</summary>
    public const double RateTolerance = 0.001;

    /// <summary>How far each step of a time column may be from its mean for the rate to be derived from it: 1 %.</summary>
    public const double StepTolerance = 0.01;

    /// <summary>The most annotation bytes an import gives one 1 s record (its busiest second of events).</summary>
    public const int MaxAnnotationBytes = 1 << 20;

    /// <summary>The header names (any case) of a CSV column holding each row's time in seconds.</summary>
    public static readonly IReadOnlyList<string> TimeColumnNames = ["time", "time_s", "timestamp"];

    /// <summary>The file format a destination's extension asks for: true for BDF+ (.bdf), false for EDF+ (.edf).</summary>
    public static bool Is24BitDestination(string destination) => Path.GetExtension(destination).ToLowerInvariant() switch
    {
        ".bdf" => true,
        ".edf" => false,
        _ => throw new ArgumentException($"Output {destination}: the name must end in .edf (EDF+, 16-bit) or .bdf (BDF+, 24-bit)."),
    };

    /// <summary>The labels of a "--labels" option: comma-separated, each trimmed (empty ones kept, to be refused by name).</summary>
    public static IReadOnlyList<string> ParseLabels(string list) => list.Split(',').Select(l => l.Trim()).ToArray();

    /// <summary>
    /// Imports <paramref name="source"/> into <paramref name="destination"/>. <paramref name="labels"/> names the data
    /// columns (refused when the file names them differently); <paramref name="events"/> is a BIDS-style events file
    /// whose rows become annotations. Every refusal is one exception naming the value, and leaves no output.
    /// </summary>
    public static ImportResult Import(string source, string destination, ImportScaling scaling, string session = "import",
        IReadOnlyList<string>? labels = null, string? events = null)
    {
        bool is24Bit = Is24BitDestination(destination);
        string[] inputs = events is null ? [source] : [source, events];
        AtomicOutput.RefuseInput(destination, inputs);
        if (scaling.ReferenceMillivolts <= 0)
        {
            throw new ArgumentException($"Reference {scaling.ReferenceMillivolts} mV: the ADC reference must be above 0 mV.");
        }
        if (!double.IsFinite(scaling.SensorGain) || scaling.SensorGain <= 0)
        {
            throw new ArgumentException($"Gain {scaling.SensorGain.ToString(CultureInfo.InvariantCulture)}: the sensor gain must be a finite number above 0.");
        }
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"No file at {source}.", source);
        }
        // The options themselves first: a value out of range is named as such, before any comparison with the file.
        if (scaling.SampleRateHz is { } optionRate)
        {
            _ = Rate(optionRate, source);
        }
        if (scaling.AdcBits is { } optionBits)
        {
            _ = Bits(optionBits, is24Bit);
        }
        string[]? optionLabels = labels is null ? null
            : CheckLabels(labels.Select(l => l.Trim()).ToArray(), i => $"--labels: label {i + 1}", "--labels", fromFile: false);
        bool csv = Path.GetExtension(source).Equals(".csv", StringComparison.OrdinalIgnoreCase);
        if (csv && scaling.AdcBits is null)
        {
            throw new ArgumentException(scaling.SampleRateHz is null
                ? "A CSV file does not say its sample rate or ADC resolution: give --bits, and --rate unless a time column (time, time_s, timestamp) gives it."
                : "A CSV file does not say its ADC resolution: give --bits.");
        }
        ImportEventsFile? eventsFile = events is null ? null : ImportEvents.Read(events);

        double? rate = scaling.SampleRateHz;
        bool rateFromTime = false;
        if (csv && rate is null)
        {
            rate = RateFromTimeColumn(source);
            rateFromTime = true;
        }
        int? bits = scaling.AdcBits;
        string[]? fileLabels = null; // the labels the file states, and the line that states them
        int labelsLine = 0;
        CsvHeader? header = null;
        TimeColumn? time = null;
        bool firstRow = true;
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase); // header keys and the lines that gave them
        Output? output = null;
        try
        {
            foreach ((int lineNo, string line) in Lines(source))
            {
                if (line.StartsWith('#'))
                {
                    if (!csv && output is null)
                    {
                        ReadHeaderLine(line, source, lineNo, scaling, seen, ref rate, ref bits, ref fileLabels, ref labelsLine);
                    }
                    continue;
                }
                string[] cells = csv ? SplitCsv(line) : line.Split(['\t', ' ', ','], StringSplitOptions.RemoveEmptyEntries);
                if (csv && firstRow && !IsNumber(cells[0]))
                {
                    header = CsvHeader.Read(cells, source, lineNo);
                    (fileLabels, labelsLine) = (header.Labels, lineNo);
                    time = header.TimeColumn >= 0 ? new TimeColumn(source, header.TimeColumn + 1) : null;
                    firstRow = false;
                    continue;
                }
                firstRow = false;
                if (header is not null)
                {
                    cells = header.Channels(cells, source, lineNo, time);
                }
                output ??= Output.Open(source, destination, session, scaling, Rate(rate, source), Bits(bits ?? 12, is24Bit),
                    Labels(fileLabels, labelsLine, optionLabels, csv, cells.Length, source, lineNo), is24Bit, eventsFile);
                output.Add(cells, lineNo);
            }
            if (output is null)
            {
                if (!csv && rate is null)
                {
                    throw new InvalidDataException($"{source}: not a BioSPPy text file: no \"# Sampling Rate (Hz):=\" header line.");
                }
                throw new InvalidDataException($"{source}: no samples.");
            }
            if (!rateFromTime && scaling.SampleRateHz is { } given)
            {
                time?.Agrees(given);
            }
            output.Complete();
            return new ImportResult(Path.GetFullPath(destination), output.Labels, output.Rate, rateFromTime, output.Samples, eventsFile?.Events.Count ?? 0);
        }
        finally
        {
            output?.Dispose();
        }
    }

    /// <summary>
    /// The rate a CSV's time column gives, read in a first pass: every step within <see cref="StepTolerance"/> of the
    /// mean step, whose inverse is a whole number of Hz within <see cref="RateTolerance"/>.
    /// </summary>
    private static double RateFromTimeColumn(string source)
    {
        CsvHeader? header = null;
        TimeColumn? time = null;
        foreach ((int lineNo, string line) in Lines(source))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            string[] cells = SplitCsv(line);
            if (header is null)
            {
                header = IsNumber(cells[0]) ? null : CsvHeader.Read(cells, source, lineNo);
                if (header is null || header.TimeColumn < 0)
                {
                    throw new ArgumentException($"{source}: no time column (a header column named {string.Join(", ", TimeColumnNames)}) says the sample rate: give --rate.");
                }
                time = new TimeColumn(source, header.TimeColumn + 1);
                continue;
            }
            _ = header.Channels(cells, source, lineNo, time);
        }
        return header is null ? throw new InvalidDataException($"{source}: no samples.") : time!.Rate();
    }

    /// <summary>The file's non-empty lines, trimmed, with their numbers; streamed.</summary>
    private static IEnumerable<(int LineNo, string Line)> Lines(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
        var buffer = new StringBuilder();
        int lineNo = 0;
        while (ReadLine(reader, buffer, path, lineNo + 1, $"a row holds at most {WireFormat.MaxChannels} counts"))
        {
            lineNo++;
            string line = buffer.ToString().Trim();
            if (line.Length > 0)
            {
                yield return (lineNo, line);
            }
        }
    }

    private static string[] SplitCsv(string line) => line.Split([',', ';', '\t']).Select(s => s.Trim()).ToArray();

    private static bool IsNumber(string cell) => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>
    /// The channels' labels: the file's (a CSV header row, a BioSPPy "Labels:=" line) or the option's, which must not
    /// differ; else CH1, CH2... for a CSV and "EMG" for a BioSPPy file.
    /// </summary>
    private static string[] Labels(string[]? fileLabels, int labelsLine, string[]? optionLabels, bool csv, int columns, string source, int lineNo)
    {
        if (fileLabels is not null && optionLabels is not null && !fileLabels.SequenceEqual(optionLabels, StringComparer.Ordinal))
        {
            throw new ArgumentException($"{source}:{labelsLine}: the file labels the channels {Quoted(fileLabels)} but --labels says {Quoted(optionLabels)}: leave the option out, or fix the file.");
        }
        if (fileLabels is null && optionLabels is not null && optionLabels.Length != columns)
        {
            throw new ArgumentException($"{source}:{lineNo}: {columns} data column{(columns == 1 ? "" : "s")} but --labels names {optionLabels.Length} channel{(optionLabels.Length == 1 ? "" : "s")}: give one label per data column.");
        }
        return fileLabels ?? optionLabels ?? (csv ? Enumerable.Range(1, columns).Select(i => $"CH{i}").ToArray() : ["EMG"]);
    }

    private static string Quoted(IEnumerable<string> labels) => string.Join(", ", labels.Select(l => $"\"{l}\""));

    /// <summary>
    /// Refuses a label a recording would not keep as given: empty, longer than <see cref="Sessions.ChannelLabels.MaxLength"/>,
    /// not printable ASCII (EDF+ header fields), or the same as another channel's (a label must name one signal).
    /// </summary>
    private static string[] CheckLabels(string[] labels, Func<int, string> label, string where, bool fromFile)
    {
        Exception Refuse(string message) => fromFile ? new InvalidDataException(message) : new ArgumentException(message);
        for (int i = 0; i < labels.Length; i++)
        {
            string l = labels[i];
            if (l.Length == 0)
            {
                throw Refuse($"{label(i)} is empty: every channel needs a label.");
            }
            if (l.Length > Sessions.ChannelLabels.MaxLength)
            {
                throw Refuse($"{label(i)} \"{l}\" is {l.Length} characters: a recording keeps {Sessions.ChannelLabels.MaxLength} (EDF+ labels hold 16, \"{RecordingLayout.EmgLabelPrefix}\" first).");
            }
            int bad = l.AsSpan().IndexOfAnyExceptInRange(' ', '~');
            if (bad >= 0)
            {
                throw Refuse($"{label(i)} \"{l}\" has U+{(int)l[bad]:X4} at character {bad + 1}: an EDF+ label is printable ASCII.");
            }
            for (int j = 0; j < i; j++)
            {
                if (string.Equals(labels[j], l, StringComparison.Ordinal))
                {
                    throw Refuse($"{where}: labels {j + 1} and {i + 1} are both \"{l}\": a label names one channel.");
                }
            }
        }
        return labels;
    }

    /// <summary>Reads one line into <paramref name="line"/>, refusing (not buffering) one longer than <see cref="MaxLineChars"/>.</summary>
    private static bool ReadLine(StreamReader reader, StringBuilder line, string path, int lineNo, string why)
    {
        line.Clear();
        int c;
        while ((c = reader.Read()) >= 0)
        {
            if (c == '\n')
            {
                return true;
            }
            if (line.Length == MaxLineChars)
            {
                throw new InvalidDataException($"{path}:{lineNo}: the line is longer than {MaxLineChars} characters ({why}).");
            }
            line.Append((char)c);
        }
        return line.Length > 0;
    }

    private static void ReadHeaderLine(string line, string path, int lineNo, ImportScaling scaling, Dictionary<string, int> seen,
        ref double? rate, ref int? bits, ref string[]? labels, ref int labelsLine)
    {
        string[] kv = line[1..].Split(":=", 2);
        if (kv.Length != 2)
        {
            return;
        }
        string key = kv[0].Trim(), value = kv[1].Trim();
        string? known = key.StartsWith("Sampling Rate", StringComparison.OrdinalIgnoreCase) ? "Sampling Rate"
            : key.Equals("Resolution", StringComparison.OrdinalIgnoreCase) ? "Resolution"
            : key.Equals("Labels", StringComparison.OrdinalIgnoreCase) ? "Labels" : null;
        if (known is not null && !seen.TryAdd(known, lineNo))
        {
            throw new InvalidDataException($"{path}:{lineNo}: the header gives \"{known}\" again (first on line {seen[known]}): which one is true?");
        }
        // A value the file states and an option contradicts is refused, never silently overridden.
        if (known == "Sampling Rate")
        {
            double r = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed)
                ? parsed : throw new InvalidDataException($"{path}:{lineNo}: sampling rate \"{value}\" is not a number of Hz.");
            if (scaling.SampleRateHz is { } given && given != r)
            {
                throw new ArgumentException($"{path}:{lineNo}: the file says {value} Hz but --rate says {given.ToString(CultureInfo.InvariantCulture)} Hz: leave the option out, or fix the file.");
            }
            rate = r;
        }
        else if (known == "Resolution")
        {
            int b = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed)
                ? parsed : throw new InvalidDataException($"{path}:{lineNo}: resolution \"{value}\" is not a whole number of bits.");
            if (scaling.AdcBits is { } given && given != b)
            {
                throw new ArgumentException($"{path}:{lineNo}: the file says {b} bits but --bits says {given}: leave the option out, or fix the file.");
            }
            bits = b;
        }
        else if (known == "Labels")
        {
            labels = CheckLabels(value.Split('\t', ',', ' ').Where(s => s.Length > 0).ToArray(), i => $"{path}:{lineNo}: label {i + 1}", $"{path}:{lineNo}", fromFile: true);
            labelsLine = lineNo;
        }
    }

    private static int Rate(double? rate, string path)
    {
        double r = rate ?? throw new InvalidDataException($"{path}: not a BioSPPy text file: no \"# Sampling Rate (Hz):=\" header line.");
        return double.IsFinite(r) && r >= 1 && r <= MaxSampleRateHz && r == Math.Round(r) ? (int)r
            : throw new ArgumentException($"Sample rate {r.ToString(CultureInfo.InvariantCulture)} Hz: it must be a whole number of Hz from 1 to {MaxSampleRateHz} (a 1 s record holds a whole number of samples).");
    }

    private static int Bits(int bits, bool is24Bit)
    {
        int max = RecordingLayout.MaxBits(is24Bit);
        return bits >= 1 && bits <= max ? bits
            : throw new ArgumentException($"ADC resolution {bits} bits: {(is24Bit ? "BDF+" : "EDF+")} holds 1 to {max} bits.");
    }

    /// <summary>A CSV's header row: the channels' labels and which column, if any, is the time.</summary>
    private sealed class CsvHeader
    {
        private CsvHeader(string[] labels, int timeColumn, int columns)
        {
            Labels = labels;
            TimeColumn = timeColumn;
            Columns = columns;
        }

        public string[] Labels { get; }

        /// <summary>The time column's index, -1 when none.</summary>
        public int TimeColumn { get; }

        public int Columns { get; }

        public static CsvHeader Read(string[] cells, string source, int lineNo)
        {
            cells = cells.Select(Unquote).ToArray();
            int time = -1;
            for (int i = 0; i < cells.Length; i++)
            {
                if (!TimeColumnNames.Contains(cells[i], StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }
                if (time >= 0)
                {
                    throw new InvalidDataException($"{source}:{lineNo}:{i + 1}: a second time column, \"{cells[i]}\" (the first is column {time + 1}, \"{cells[time]}\"): which one is the time?");
                }
                time = i;
            }
            int[] channels = Enumerable.Range(0, cells.Length).Where(i => i != time).ToArray();
            string[] labels = CheckLabels(channels.Select(i => cells[i]).ToArray(), k => $"{source}:{lineNo}:{channels[k] + 1}: label", $"{source}:{lineNo}", fromFile: true);
            return new CsvHeader(labels, time, cells.Length);
        }

        /// <summary>A data row's channel cells: the row must have the header's columns; its time goes to <paramref name="time"/>.</summary>
        public string[] Channels(string[] cells, string source, int lineNo, TimeColumn? time)
        {
            if (TimeColumn < 0)
            {
                return cells;
            }
            if (cells.Length != Columns)
            {
                throw new InvalidDataException($"{source}:{lineNo}: {cells.Length} values, expected {Columns} (a time and {Columns - 1} channel{(Columns == 2 ? "" : "s")}).");
            }
            time!.Add(cells[TimeColumn], lineNo);
            var channels = new string[Columns - 1];
            for (int i = 0, o = 0; i < cells.Length; i++)
            {
                if (i != TimeColumn)
                {
                    channels[o++] = cells[i];
                }
            }
            return channels;
        }

        /// <summary>A header cell written "quoted" (RFC 4180) is read without its quotes.</summary>
        private static string Unquote(string cell) =>
            cell.Length >= 2 && cell[0] == '"' && cell[^1] == '"' ? cell[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal).Trim() : cell;
    }

    /// <summary>A CSV's time column, in seconds: read row by row, checked to be numbers in order, its steps measured.</summary>
    private sealed class TimeColumn(string source, int column)
    {
        private long _count;
        private double _first;
        private double _last;
        private string _lastText = "";
        private int _lastLine;
        private double _minStep = double.PositiveInfinity;
        private double _maxStep = double.NegativeInfinity;
        private int _minLine;
        private int _maxLine;

        public void Add(string cell, int lineNo)
        {
            if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) || !double.IsFinite(t))
            {
                throw new InvalidDataException($"{source}:{lineNo}:{column}: time \"{cell}\" is not a number of seconds.");
            }
            if (_count == 0)
            {
                _first = t;
            }
            else
            {
                double step = t - _last;
                if (step < 0)
                {
                    throw new InvalidDataException($"{source}:{lineNo}:{column}: time {cell} s comes before the {_lastText} s of line {_lastLine}: the rows must be in time order.");
                }
                if (step < _minStep)
                {
                    (_minStep, _minLine) = (step, lineNo);
                }
                if (step > _maxStep)
                {
                    (_maxStep, _maxLine) = (step, lineNo);
                }
            }
            (_last, _lastText, _lastLine) = (t, cell, lineNo);
            _count++;
        }

        private double MeanStep => (_last - _first) / (_count - 1);

        private double Hz => (_count - 1) / (_last - _first);

        /// <summary>The whole number of Hz a constant step gives.</summary>
        public double Rate()
        {
            if (_count < 2)
            {
                throw new InvalidDataException($"{source}: one row: its time column has no step to derive the sample rate from; give --rate.");
            }
            double mean = MeanStep;
            if (!(mean > 0))
            {
                throw new InvalidDataException($"{source}: the time column does not advance ({_lastText} s on every row): no sample rate to derive; give --rate.");
            }
            bool longest = _maxStep - mean >= mean - _minStep;
            if ((longest ? _maxStep - mean : mean - _minStep) > StepTolerance * mean)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{source}:{(longest ? _maxLine : _minLine)}:{column}: the time column steps {(longest ? _maxStep : _minStep):G6} s here but {mean:G6} s on average: no constant step to derive the sample rate from; give --rate."));
            }
            double hz = Hz, whole = Math.Round(hz);
            return whole >= 1 && Math.Abs(hz - whole) <= RateTolerance * whole ? whole
                : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{source}: the time column's step of {mean:G6} s makes {hz:G7} Hz, not a whole number of Hz: give --rate (1 s records hold a whole number of samples)."));
        }

        /// <summary>Refuses a time column whose overall rate is more than <see cref="RateTolerance"/> from <paramref name="rate"/>.</summary>
        public void Agrees(double rate)
        {
            if (_count < 2)
            {
                return;
            }
            if (!(MeanStep > 0))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{source}: the time column does not advance ({_lastText} s on every row): rows at {rate} Hz have times {1 / rate:G6} s apart; fix the file."));
            }
            double hz = Hz;
            if (!(Math.Abs(hz - rate) <= RateTolerance * rate))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{source}: the time column (column {column}) steps {MeanStep:G6} s, {hz:G7} Hz, but --rate says {rate} Hz: leave the option out, or fix the file."));
            }
        }
    }

    /// <summary>
    /// The destination being written: one record of samples in memory, records written as they fill, each with the
    /// events whose onset falls in its second. The annotation signal is sized before the header is written for the
    /// busiest second of events (every event is known by then), so none is ever dropped.
    /// </summary>
    private sealed class Output : IDisposable
    {
        private readonly string _source;
        private readonly int _rate;
        private readonly int _channels;
        private readonly long _maxCount;
        private readonly int _shift;
        private readonly int[] _zero;
        private readonly int[] _record;
        private readonly AtomicOutput _file;
        private readonly BdfWriter _writer;
        private readonly ImportEventsFile? _eventsFile;
        private readonly (BdfAnnotation Written, ImportEvent Event)[] _events; // by onset as written, then line
        private int _nextEvent;
        private int _fill;
        private long _instants;

        private Output(string source, int rate, string[] labels, int bits, bool is24Bit, BdfHeader header, AtomicOutput file,
            ImportEventsFile? eventsFile, (BdfAnnotation, ImportEvent)[] events)
        {
            _source = source;
            _rate = rate;
            Labels = labels;
            _channels = labels.Length;
            _maxCount = (1L << bits) - 1;
            _shift = RecordingLayout.DigitalShift(bits, is24Bit);
            _zero = header.Signals.Select(RecordingLayout.ZeroCount).ToArray();
            _record = new int[_channels * rate];
            _file = file;
            _writer = new BdfWriter(file.Stream, header);
            _eventsFile = eventsFile;
            _events = events;
        }

        public IReadOnlyList<string> Labels { get; }

        public int Rate => _rate;

        public long Samples => _instants;

        public static Output Open(string source, string destination, string session, ImportScaling scaling, int rate, int bits, string[] labels, bool is24Bit,
            ImportEventsFile? eventsFile)
        {
            if (labels.Length is < 1 or > WireFormat.MaxChannels)
            {
                throw new InvalidDataException($"{source}: {labels.Length} channels: a recording holds 1 to {WireFormat.MaxChannels}.");
            }
            var note = new BdfAnnotation(0, null, $"Imported from {Truncate(Path.GetFileName(source), 100)}");
            (BdfAnnotation, ImportEvent)[] events = (eventsFile?.Events ?? [])
                .Select(e => (new BdfAnnotation(WrittenOnset(e.OnsetSeconds, rate), e.DurationSeconds, e.Text), e))
                .OrderBy(e => e.Item1.OnsetSeconds).ThenBy(e => e.e.Line)
                .ToArray();
            var board = new BoardInfo(WireFormat.ProtocolVersion, 0, 0, 0, labels.Length, rate, bits, scaling.ReferenceMillivolts, true, 0, "import");
            var options = new RecorderOptions { SensorGain = scaling.SensorGain };
            options.NotesPerSecond = NotesPerSecond(events, Tal.Encode(note).Length, rate, options.NotesPerSecond, eventsFile);
            DateTime modified = File.GetLastWriteTime(source);
            BdfHeader header = RecordingLayout.BuildHeader(board, new RecordingRequest("import", session, "X", labels), options,
                modified.AddTicks(-(modified.Ticks % TimeSpan.TicksPerSecond)), is24Bit);
            AtomicOutput file = AtomicOutput.Create(destination, eventsFile is null ? [source] : [source, eventsFile.Path]);
            var output = new Output(source, rate, labels, bits, is24Bit, header, file, eventsFile, events);
            output._writer.Annotate(note);
            return output;
        }

        /// <summary>
        /// The onset as the TAL writes it (7 decimals, <see cref="Tal.Seconds"/>), moved by 100 ns steps when rounding
        /// would change the sample it falls on: round(onset x rate) read back is the event's sample.
        /// </summary>
        private static double WrittenOnset(double onset, int rate)
        {
            double sample = Math.Round(onset * rate);
            double written = Parse(Tal.Seconds(onset));
            if (onset * rate > 1e15)
            {
                return written; // beyond any imported data: refused once the data's end is known
            }
            for (int i = 0; i < 4 && Math.Round(written * rate) != sample; i++)
            {
                written = Parse(Tal.Seconds(written + (Math.Round(written * rate) > sample ? -1e-7 : 1e-7)));
            }
            return written;

            static double Parse(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        /// <summary>The record (second) an event is written in.</summary>
        private static long Second(BdfAnnotation a) => a.OnsetSeconds < 1e15 ? (long)Math.Floor(a.OnsetSeconds) : long.MaxValue;

        /// <summary>
        /// The notes a record must have room for (<see cref="RecorderOptions.NotesPerSecond"/>, <see cref="RecordingLayout.AnnotationBytes"/>):
        /// the recorder's default, or more when a second holds more events. Each record keeps its time-keeping TAL and
        /// the closing notes' room (the padding note); the first also holds the "Imported from" note.
        /// </summary>
        private static int NotesPerSecond((BdfAnnotation Written, ImportEvent Event)[] events, int noteBytes, int rate, int defaultNotes, ImportEventsFile? file)
        {
            long need = RecordingLayout.TimeKeepingBytes + noteBytes + RecordingLayout.CloseBytes;
            for (int i = 0; i < events.Length;)
            {
                long second = Second(events[i].Written);
                long bytes = RecordingLayout.TimeKeepingBytes + (second == 0 ? noteBytes : 0) + RecordingLayout.CloseBytes;
                int first = i;
                for (; i < events.Length && Second(events[i].Written) == second; i++)
                {
                    bytes += Tal.Encode(events[i].Written).Length;
                }
                if (bytes > MaxAnnotationBytes)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{file!.Path}:{events[first..i].Min(e => e.Event.Line)}: the {i - first} events from {second} s to {second + 1} s need {bytes} bytes of annotations, more than the {MaxAnnotationBytes} an import gives a second: split the events file."));
                }
                need = Math.Max(need, bytes);
            }
            long extra = need - RecordingLayout.AnnotationBytes(rate, 0);
            return (int)Math.Max(defaultNotes, (extra + RecordingLayout.NoteBytes - 1) / RecordingLayout.NoteBytes);
        }

        /// <summary>Puts the events of the record about to be written into it.</summary>
        private void AnnotateEvents()
        {
            long record = _writer.RecordsWritten;
            while (_nextEvent < _events.Length && Second(_events[_nextEvent].Written) <= record)
            {
                _writer.Annotate(_events[_nextEvent++].Written); // sized for: throws rather than drops
            }
        }

        /// <summary>
        /// Refuses, in file order, an event whose onset is not on an imported sample (round(onset x rate) beyond the
        /// last) or whose duration runs past the end of the data.
        /// </summary>
        private void CheckEventsEnd()
        {
            if (_eventsFile is null)
            {
                return;
            }
            double end = _instants / (double)_rate;
            foreach (ImportEvent e in _eventsFile.Events)
            {
                if (Math.Round(e.OnsetSeconds * _rate) >= _instants)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{_eventsFile.Path}:{e.Line}:{_eventsFile.OnsetColumn}: {ImportEvents.Onset} {e.OnsetSeconds:R} s is beyond the end of the imported data: {_instants} samples at {_rate} Hz, the last at {(_instants - 1) / (double)_rate:R} s."));
                }
                if (e.DurationSeconds is { } d && Math.Round((e.OnsetSeconds + d) * _rate) > _instants)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"{_eventsFile.Path}:{e.Line}:{_eventsFile.DurationColumn}: {ImportEvents.Duration} {d:R} s from {e.OnsetSeconds:R} s runs past the end of the imported data at {end:R} s ({_instants} samples at {_rate} Hz)."));
                }
            }
        }

        public void Add(string[] cells, int lineNo)
        {
            if (cells.Length != _channels)
            {
                throw new InvalidDataException($"{_source}:{lineNo}: {cells.Length} values, expected {_channels}.");
            }
            for (int c = 0; c < _channels; c++)
            {
                if (!TryParseCount(cells[c], out long v))
                {
                    throw new InvalidDataException($"{_source}:{lineNo}:{c + 1}: \"{cells[c]}\" is not an ADC count (a whole number 0-{_maxCount}).");
                }
                if (v < 0 || v > _maxCount)
                {
                    throw new InvalidDataException($"{_source}:{lineNo}:{c + 1}: count {v} is outside 0-{_maxCount}, the range of the ADC.");
                }
                _record[c * _rate + _fill] = (int)(v - _shift);
            }
            _instants++;
            if (++_fill == _rate)
            {
                AnnotateEvents();
                _writer.WriteRecord(_record);
                _fill = 0;
            }
        }

        /// <summary>Pads and writes the last record, then renames the file into place.</summary>
        public void Complete()
        {
            CheckEventsEnd();
            if (_fill > 0)
            {
                AnnotateEvents();
                long padding = _rate - _fill;
                _writer.Annotate(new BdfAnnotation(_instants / (double)_rate, padding / (double)_rate, RecordingLayout.PaddingText(padding)));
                for (int c = 0; c < _channels; c++)
                {
                    _record.AsSpan(c * _rate + _fill, (int)padding).Fill(_zero[c]);
                }
                _writer.WriteRecord(_record);
            }
            if (_nextEvent != _events.Length)
            {
                throw new InvalidOperationException($"{_events.Length - _nextEvent} events were not written: a bug, the import is not kept.");
            }
            _writer.Flush();
            _file.Commit();
        }

        public void Dispose()
        {
            _writer.Dispose();
            _file.Dispose();
        }

        /// <summary>A whole number, written as an integer or as a float with no fraction ("2034", "2034.0").</summary>
        private static bool TryParseCount(string cell, out long value)
        {
            if (long.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
            {
                return true;
            }
            bool whole = double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && Math.Abs(d) < 1e15 && d == Math.Round(d);
            value = whole ? (long)d : 0;
            return whole;
        }

        private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
    }
}
