using System.Globalization;
using System.Text;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording's samples as CSV, exactly: "sample_index,time_s,recorded", then per signal "&lt;label&gt; counts" (its
/// digital value) and "&lt;label&gt; uV" for a voltage signal (converted from its own unit) or "&lt;label&gt; &lt;unit&gt;"
/// for any other. Physical values are computed as the standard defines them (no rounding of 0 V to a whole count) and
/// printed to round-trip. Signals of different rates cannot share rows: the signals exported share one rate, chosen
/// by label or, by default, every signal when they all share one. An EDF+D file's records are placed at their onsets;
/// this project's gap and padding notes mark instants not recorded (recorded = 0).
/// </summary>
public static class RecordingExport
{
    /// <summary>Which signals to export: those named, or all when they share a rate; refuses mixed rates naming the groups.</summary>
    public static int[] Choose(BdfHeader h, IReadOnlyList<string>? labels)
    {
        int[] chosen;
        if (labels is { Count: > 0 })
        {
            chosen = labels.Select(l =>
            {
                int i = RecordingFile.FindLabel(h, l);
                return i >= 0 ? i : throw new InvalidDataException($"no signal is labelled \"{l}\"; the file has: {string.Join(", ", h.Signals.Select(s => $"\"{s.Label}\""))}.");
            }).ToArray();
            if (chosen.Distinct().Count() != chosen.Length)
            {
                throw new InvalidDataException("a signal is chosen twice.");
            }
        }
        else
        {
            chosen = Enumerable.Range(0, h.Signals.Count).Where(i => h.Signals[i].SamplesPerRecord > 0).ToArray();
        }
        if (chosen.Length == 0)
        {
            throw new InvalidDataException("it has no signals to export, only annotations.");
        }
        var groups = chosen.GroupBy(i => h.Signals[i].SamplesPerRecord).ToArray();
        if (groups.Length > 1)
        {
            throw new InvalidDataException("its signals have different rates and cannot share rows: " +
                string.Join("; ", groups.Select(g => $"{RecordingFile.Hz(h, g.First())}: {string.Join(",", g.Select(i => h.Signals[i].Label))}")) +
                ". Export one rate at a time with --signals.");
        }
        return chosen;
    }

    /// <summary>Writes the chosen signals; returns the rows written.</summary>
    public static long Write(BdfReader reader, IReadOnlyList<int> signals, TextWriter output)
    {
        BdfHeader h = reader.Header;
        int n = h.Signals[signals[0]].SamplesPerRecord;
        double rate = n / h.RecordDurationSeconds;
        var header = new StringBuilder("sample_index,time_s,recorded");
        var factor = new double[signals.Count];
        for (int c = 0; c < signals.Count; c++)
        {
            BdfSignal s = h.Signals[signals[c]];
            double? perUnit = RecordingFile.MicrovoltsPerUnit(s.PhysicalDimension);
            factor[c] = perUnit ?? 1;
            string unit = perUnit is not null ? "uV" : s.PhysicalDimension.Length > 0 ? s.PhysicalDimension : "units";
            header.Append(CultureInfo.InvariantCulture, $",{CsvField($"{s.Label} counts")},{CsvField($"{s.Label} {unit}")}");
        }
        output.WriteLine(header);
        if (reader.RecordCount == 0)
        {
            return 0;
        }

        (long Start, long End)[] unrecorded = RecordingFile.Unrecorded(reader.ReadAnnotations(), rate);
        var recordedMask = new bool[n];
        var digital = new int[reader.SamplesPerRecord];
        var line = new StringBuilder();
        long rows = 0;
        for (long r = 0; r < reader.RecordCount; r++)
        {
            reader.ReadRecord(r, digital);
            long first = reader.RecordStart(r, n);
            RecordingFile.Mark(unrecorded, first, recordedMask);
            for (int i = 0; i < n; i++)
            {
                long index = first + i;
                bool recorded = recordedMask[i];
                line.Clear();
                line.Append(CultureInfo.InvariantCulture, $"{index},{(index / rate).ToString("0.######", CultureInfo.InvariantCulture)},{(recorded ? 1 : 0)}");
                for (int c = 0; c < signals.Count; c++)
                {
                    BdfSignal s = h.Signals[signals[c]];
                    int d = digital[reader.SampleOffset(signals[c]) + i];
                    double physical = RecordingFile.ToPhysical(s, d) * factor[c];
                    line.Append(CultureInfo.InvariantCulture, $",{d},{physical.ToString("R", CultureInfo.InvariantCulture)}");
                }
                output.WriteLine(line);
                rows++;
            }
        }
        return rows;
    }

    /// <summary>A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, a quote or a line break.</summary>
    public static string CsvField(string s) => s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{s.Replace("\"", "\"\"")}\"" : s;
}
