using System.Globalization;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording;

/// <summary>How imported counts become microvolts: the ADC and sensor the foreign recording came from.</summary>
/// <param name="ReferenceMillivolts">ADC reference. BioSPPy's examples come from BITalino: VCC 3.3 V.</param>
/// <param name="SensorGain">Electrode-to-ADC gain. BITalino's EMG sensor: 1009 (datasheet transfer function).</param>
public sealed record ImportScaling(int ReferenceMillivolts = 3300, double SensorGain = 1009, int? AdcBits = null, int? SampleRateHz = null);

/// <summary>
/// Converts foreign sample files into this project's BDF+ recordings, so they replay and process like sessions:
/// BioSPPy's "Simple Text Format" ('#' header lines with "Sampling Rate (Hz):=", "Resolution:=", "Labels:=", then
/// one count per line) and plain CSV (an optional header row of labels, one row per instant, one count per column).
/// </summary>
public static class Importers
{
    public static void Import(string source, string destination, ImportScaling scaling, string session = "import")
    {
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"No file at {source}.", source);
        }
        string ext = Path.GetExtension(source).ToLowerInvariant();
        (int rate, int bits, string[] labels, List<ushort[]> rows) = ext == ".csv" ? ReadCsv(source, scaling) : ReadBiosppy(source, scaling);
        var board = new BoardInfo(WireFormat.ProtocolVersion, 0, 0, 0, labels.Length, rate, bits, scaling.ReferenceMillivolts, true, 0, "import");
        var options = new RecorderOptions { SensorGain = scaling.SensorGain };
        BdfHeader header = RecordingLayout.BuildHeader(board, new RecordingRequest("import", session, "X", labels), options,
            File.GetLastWriteTime(source).AddTicks(-(File.GetLastWriteTime(source).Ticks % TimeSpan.TicksPerSecond)));
        int[] zero = header.Signals.Select(RecordingLayout.ZeroCount).ToArray();
        using var writer = new BdfWriter(new FileStream(destination, FileMode.Create, FileAccess.ReadWrite), header);
        writer.Annotate(new BdfAnnotation(0, null, $"Imported from {Path.GetFileName(source)}"));
        var record = new int[labels.Length * rate];
        long records = (rows.Count + rate - 1) / rate;
        for (long r = 0; r < records; r++)
        {
            for (int i = 0; i < rate; i++)
            {
                long at = r * rate + i;
                for (int c = 0; c < labels.Length; c++)
                {
                    record[c * rate + i] = at < rows.Count ? rows[(int)at][c] : zero[c];
                }
            }
            if (r == records - 1 && rows.Count % rate != 0)
            {
                long padding = rate - rows.Count % rate;
                writer.Annotate(new BdfAnnotation(rows.Count / (double)rate, padding / (double)rate, RecordingLayout.PaddingText(padding)));
            }
            writer.WriteRecord(record);
        }
    }

    private static (int, int, string[], List<ushort[]>) ReadBiosppy(string path, ImportScaling scaling)
    {
        double? rate = null;
        int? bits = null;
        string[] labels = ["EMG"];
        var rows = new List<ushort[]>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNo++;
            string line = raw.Trim().TrimStart('\uFEFF');
            if (line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith('#'))
            {
                string[] kv = line[1..].Split(":=", 2);
                if (kv.Length == 2)
                {
                    string key = kv[0].Trim(), value = kv[1].Trim();
                    if (key.StartsWith("Sampling Rate", StringComparison.OrdinalIgnoreCase))
                    {
                        rate = double.Parse(value, CultureInfo.InvariantCulture);
                    }
                    else if (key.Equals("Resolution", StringComparison.OrdinalIgnoreCase))
                    {
                        bits = int.Parse(value, CultureInfo.InvariantCulture);
                    }
                    else if (key.Equals("Labels", StringComparison.OrdinalIgnoreCase))
                    {
                        labels = value.Split('\t', ',', ' ').Where(s => s.Length > 0).ToArray();
                    }
                }
                continue;
            }
            string[] cells = line.Split(['\t', ' ', ','], StringSplitOptions.RemoveEmptyEntries);
            rows.Add(ParseRow(cells, labels.Length, path, lineNo));
        }
        if (rate is null && scaling.SampleRateHz is null)
        {
            throw new InvalidDataException($"{path}: not a BioSPPy text file: no \"# Sampling Rate (Hz):=\" header line.");
        }
        return (CheckRate(scaling.SampleRateHz ?? rate!.Value, path), scaling.AdcBits ?? bits ?? 12, labels, rows);
    }

    private static (int, int, string[], List<ushort[]>) ReadCsv(string path, ImportScaling scaling)
    {
        if (scaling.SampleRateHz is not int rate || scaling.AdcBits is not int bits)
        {
            throw new ArgumentException("A CSV file does not say its sample rate or ADC resolution: give both (--rate, --bits).");
        }
        string[]? labels = null;
        var rows = new List<ushort[]>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            string[] cells = line.Split([',', ';', '\t']).Select(s => s.Trim()).ToArray();
            if (labels is null && !double.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                labels = cells;
                continue;
            }
            labels ??= cells.Select((_, i) => $"CH{i + 1}").ToArray();
            rows.Add(ParseRow(cells, labels.Length, path, lineNo));
        }
        if (labels is null || rows.Count == 0)
        {
            throw new InvalidDataException($"{path}: no samples.");
        }
        return (CheckRate(rate, path), bits, labels, rows);
    }

    private static ushort[] ParseRow(string[] cells, int channels, string path, int lineNo)
    {
        if (cells.Length != channels)
        {
            throw new InvalidDataException($"{path}:{lineNo}: {cells.Length} values, expected {channels}.");
        }
        var row = new ushort[channels];
        for (int c = 0; c < channels; c++)
        {
            if (!double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || v > ushort.MaxValue || v != Math.Round(v))
            {
                throw new InvalidDataException($"{path}:{lineNo}: \"{cells[c]}\" is not an ADC count (a whole number 0-65535).");
            }
            row[c] = (ushort)v;
        }
        return row;
    }

    private static int CheckRate(double rate, string path) =>
        rate > 0 && rate == Math.Round(rate) && rate <= 65_535 ? (int)rate
            : throw new InvalidDataException($"{path}: sample rate {rate} Hz is not a whole number of Hz (1 s records need one).");
}
