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

/// <summary>
/// Converts foreign sample files into this project's recordings, so they replay and process like sessions:
/// BioSPPy's "Simple Text Format" ('#' header lines with "Sampling Rate (Hz):=", "Resolution:=", "Labels:=", then
/// one row of counts per line) and plain CSV (an optional header row of labels, one row per instant, one count per
/// column). The destination's extension chooses the format: ".bdf" BDF+ (24-bit), ".edf" EDF+ (16-bit). The input is
/// streamed (one record in memory, lines capped at <see cref="MaxLineChars"/>); the output appears only when complete.
/// </summary>
public static class Importers
{
    /// <summary>The longest line read: far more than 16 columns of counts need; a longer one is refused, not buffered.</summary>
    public const int MaxLineChars = 65_536;

    /// <summary>The highest sample rate imported (Hz); a 1 s record of 16 channels then stays under 4 MB.</summary>
    public const int MaxSampleRateHz = 65_535;

    /// <summary>The file format a destination's extension asks for: true for BDF+ (.bdf), false for EDF+ (.edf).</summary>
    public static bool Is24BitDestination(string destination) => Path.GetExtension(destination).ToLowerInvariant() switch
    {
        ".bdf" => true,
        ".edf" => false,
        _ => throw new ArgumentException($"Output {destination}: the name must end in .edf (EDF+, 16-bit) or .bdf (BDF+, 24-bit)."),
    };

    public static void Import(string source, string destination, ImportScaling scaling, string session = "import")
    {
        bool is24Bit = Is24BitDestination(destination);
        AtomicOutput.RefuseInput(destination, source);
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
        bool csv = Path.GetExtension(source).Equals(".csv", StringComparison.OrdinalIgnoreCase);
        if (csv && (scaling.SampleRateHz is null || scaling.AdcBits is null))
        {
            throw new ArgumentException("A CSV file does not say its sample rate or ADC resolution: give both (--rate, --bits).");
        }

        double? rate = scaling.SampleRateHz;
        int? bits = scaling.AdcBits;
        string[]? labels = csv ? null : ["EMG"];
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase); // header keys and the lines that gave them
        Output? output = null;
        try
        {
            int lineNo = 0;
            using var reader = new StreamReader(source, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
            var buffer = new StringBuilder();
            while (ReadLine(reader, buffer, source, lineNo + 1))
            {
                lineNo++;
                string line = buffer.ToString().Trim();
                if (line.Length == 0)
                {
                    continue;
                }
                if (line.StartsWith('#'))
                {
                    if (!csv && output is null)
                    {
                        ReadHeaderLine(line, source, lineNo, scaling, seen, ref rate, ref bits, ref labels);
                    }
                    continue;
                }
                string[] cells = csv ? line.Split([',', ';', '\t']).Select(s => s.Trim()).ToArray() : line.Split(['\t', ' ', ','], StringSplitOptions.RemoveEmptyEntries);
                if (csv && labels is null && !double.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    labels = cells;
                    continue;
                }
                labels ??= cells.Select((_, i) => $"CH{i + 1}").ToArray();
                output ??= Output.Open(source, destination, session, scaling, Rate(rate, source), Bits(bits ?? 12, is24Bit), labels, is24Bit);
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
            output.Complete();
        }
        finally
        {
            output?.Dispose();
        }
    }

    /// <summary>Reads one line into <paramref name="line"/>, refusing (not buffering) one longer than <see cref="MaxLineChars"/>.</summary>
    private static bool ReadLine(StreamReader reader, StringBuilder line, string path, int lineNo)
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
                throw new InvalidDataException($"{path}:{lineNo}: the line is longer than {MaxLineChars} characters (a row holds at most {WireFormat.MaxChannels} counts).");
            }
            line.Append((char)c);
        }
        return line.Length > 0;
    }

    private static void ReadHeaderLine(string line, string path, int lineNo, ImportScaling scaling, Dictionary<string, int> seen, ref double? rate, ref int? bits, ref string[]? labels)
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
        else if (key.Equals("Labels", StringComparison.OrdinalIgnoreCase))
        {
            labels = value.Split('\t', ',', ' ').Where(s => s.Length > 0).ToArray();
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

    /// <summary>The destination being written: one record of samples in memory, records written as they fill.</summary>
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
        private int _fill;
        private long _instants;

        private Output(string source, int rate, int channels, int bits, bool is24Bit, BdfHeader header, AtomicOutput file)
        {
            _source = source;
            _rate = rate;
            _channels = channels;
            _maxCount = (1L << bits) - 1;
            _shift = RecordingLayout.DigitalShift(bits, is24Bit);
            _zero = header.Signals.Select(RecordingLayout.ZeroCount).ToArray();
            _record = new int[channels * rate];
            _file = file;
            _writer = new BdfWriter(file.Stream, header);
        }

        public static Output Open(string source, string destination, string session, ImportScaling scaling, int rate, int bits, string[] labels, bool is24Bit)
        {
            if (labels.Length is < 1 or > WireFormat.MaxChannels)
            {
                throw new InvalidDataException($"{source}: {labels.Length} channels: a recording holds 1 to {WireFormat.MaxChannels}.");
            }
            var board = new BoardInfo(WireFormat.ProtocolVersion, 0, 0, 0, labels.Length, rate, bits, scaling.ReferenceMillivolts, true, 0, "import");
            var options = new RecorderOptions { SensorGain = scaling.SensorGain };
            DateTime modified = File.GetLastWriteTime(source);
            BdfHeader header = RecordingLayout.BuildHeader(board, new RecordingRequest("import", session, "X", labels), options,
                modified.AddTicks(-(modified.Ticks % TimeSpan.TicksPerSecond)), is24Bit);
            AtomicOutput file = AtomicOutput.Create(destination, source);
            var output = new Output(source, rate, labels.Length, bits, is24Bit, header, file);
            output._writer.Annotate(new BdfAnnotation(0, null, $"Imported from {Truncate(Path.GetFileName(source), 100)}"));
            return output;
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
                _writer.WriteRecord(_record);
                _fill = 0;
            }
        }

        /// <summary>Pads and writes the last record, then renames the file into place.</summary>
        public void Complete()
        {
            if (_fill > 0)
            {
                long padding = _rate - _fill;
                _writer.Annotate(new BdfAnnotation(_instants / (double)_rate, padding / (double)_rate, RecordingLayout.PaddingText(padding)));
                for (int c = 0; c < _channels; c++)
                {
                    _record.AsSpan(c * _rate + _fill, (int)padding).Fill(_zero[c]);
                }
                _writer.WriteRecord(_record);
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
