using System.Globalization;
using System.Text;

namespace EmgBiofeedback.Recording;

/// <summary>One row of an events file: onset and duration in seconds from the first sample (no duration: an instant),
/// the text, and the line it came from (for the refusals found once the data's end is known).</summary>
public sealed record ImportEvent(double OnsetSeconds, double? DurationSeconds, string Text, int Line);

/// <summary>An events file read: its events in file order and the (1-based) columns of onset and duration.</summary>
public sealed record ImportEventsFile(string Path, IReadOnlyList<ImportEvent> Events, int OnsetColumn, int DurationColumn);

/// <summary>
/// A BIDS-style events file (`*_events.tsv`): tab-separated, a header row naming at least the columns <c>onset</c>,
/// <c>duration</c> and <c>trial_type</c> (any order, any case; other columns ignored), then one event per line:
/// onset in seconds (0 or more), duration in seconds (0 or more) or <c>n/a</c> (an instant), and a non-empty text of
/// printable UTF-8. Each row becomes one EDF+ annotation of the import (<see cref="Importers.Import"/>). Every value is
/// checked and refused with the file, line, column number and column name; nothing is skipped or dropped.
/// </summary>
public static class ImportEvents
{
    /// <summary>The most events read from one file: far more than a session's trials and calibrations.</summary>
    public const int MaxEvents = 100_000;

    /// <summary>
    /// The longest event text, in UTF-8 bytes: EDFlib (and so EDFbrowser) keeps 512 bytes of an annotation
    /// (EDFLIB_MAX_ANNOTATION_LEN) and cuts the rest; a longer text is refused rather than cut by a reader.
    /// </summary>
    public const int MaxTextBytes = 512;

    public const string Onset = "onset";
    public const string Duration = "duration";
    public const string TrialType = "trial_type";

    /// <summary>Reads and checks every row of <paramref name="path"/>.</summary>
    public static ImportEventsFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No events file at {path}.", path);
        }
        var events = new List<ImportEvent>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var bytes = new List<byte>();
        int lineNo = 0;
        int onsetAt = -1, durationAt = -1, textAt = -1, columns = 0;
        while (ReadLine(stream, bytes, path, lineNo + 1) is { } line)
        {
            lineNo++;
            if (lineNo == 1 && line.StartsWith('\uFEFF'))
            {
                line = line[1..]; // a UTF-8 byte order mark
            }
            if (line.Length == 0)
            {
                continue;
            }
            string[] cells = line.Split('\t');
            if (columns == 0)
            {
                columns = cells.Length;
                onsetAt = HeaderColumn(cells, Onset, path, lineNo);
                durationAt = HeaderColumn(cells, Duration, path, lineNo);
                textAt = HeaderColumn(cells, TrialType, path, lineNo);
                continue;
            }
            if (cells.Length != columns)
            {
                throw new InvalidDataException($"{path}:{lineNo}: {cells.Length} tab-separated fields, the header row has {columns}.");
            }
            if (events.Count == MaxEvents)
            {
                throw new InvalidDataException($"{path}:{lineNo}: more than {MaxEvents} events: split the file.");
            }
            events.Add(new ImportEvent(
                ReadOnset(cells[onsetAt], path, lineNo, onsetAt + 1),
                ReadDuration(cells[durationAt], path, lineNo, durationAt + 1),
                ReadText(cells[textAt], path, lineNo, textAt + 1),
                lineNo));
        }
        if (columns == 0)
        {
            throw new InvalidDataException($"{path}: empty: an events file starts with a header row naming {Onset}, {Duration} and {TrialType}.");
        }
        return new ImportEventsFile(path, events, onsetAt + 1, durationAt + 1);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The next line without its line end (LF or CRLF), decoded as UTF-8 line by line so that bytes that are not UTF-8
    /// are refused with their line's number; null at the end. A line longer than <see cref="Importers.MaxLineChars"/>
    /// bytes is refused, not buffered.
    /// </summary>
    private static string? ReadLine(Stream stream, List<byte> line, string path, int lineNo)
    {
        line.Clear();
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n')
        {
            if (line.Count == Importers.MaxLineChars)
            {
                throw new InvalidDataException($"{path}:{lineNo}: the line is longer than {Importers.MaxLineChars} bytes (an event's text holds at most {MaxTextBytes}).");
            }
            line.Add((byte)b);
        }
        if (b < 0 && line.Count == 0)
        {
            return null;
        }
        int length = line.Count > 0 && line[^1] == '\r' ? line.Count - 1 : line.Count;
        try
        {
            return StrictUtf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(line)[..length]);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"{path}:{lineNo}: not UTF-8 text: an events file is UTF-8.");
        }
    }

    private static int HeaderColumn(string[] header, string name, string path, int lineNo)
    {
        int at = -1;
        for (int i = 0; i < header.Length; i++)
        {
            if (!header[i].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (at >= 0)
            {
                throw new InvalidDataException($"{path}:{lineNo}: the header row has the column \"{name}\" twice (columns {at + 1} and {i + 1}): which one is true?");
            }
            at = i;
        }
        return at >= 0 ? at : throw new InvalidDataException(
            $"{path}:{lineNo}: the header row has no \"{name}\" column (it has {string.Join(", ", header.Select(h => $"\"{h.Trim()}\""))}): an events file needs {Onset}, {Duration} and {TrialType}, tab-separated.");
    }

    private static double ReadOnset(string cell, string path, int lineNo, int column)
    {
        string v = cell.Trim();
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double onset) || !double.IsFinite(onset))
        {
            throw new InvalidDataException($"{path}:{lineNo}:{column}: {Onset} \"{v}\" is not a number of seconds.");
        }
        return onset < 0
            ? throw new InvalidDataException($"{path}:{lineNo}:{column}: {Onset} {v} s is negative: onsets count seconds from the first sample.")
            : onset + 0.0; // -0 becomes 0
    }

    private static double? ReadDuration(string cell, string path, int lineNo, int column)
    {
        string v = cell.Trim();
        if (v.Equals("n/a", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double duration) || !double.IsFinite(duration))
        {
            throw new InvalidDataException($"{path}:{lineNo}:{column}: {Duration} \"{v}\" is neither a number of seconds nor n/a (an instant).");
        }
        return duration < 0
            ? throw new InvalidDataException($"{path}:{lineNo}:{column}: {Duration} {v} s is negative.")
            : duration + 0.0;
    }

    private static string ReadText(string cell, string path, int lineNo, int column)
    {
        string where = $"{path}:{lineNo}:{column}: {TrialType}";
        if (cell.Trim().Length == 0 || cell.Trim().Equals("n/a", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{where} is {(cell.Trim().Length == 0 ? "empty" : "\"n/a\"")}: every event needs a text.");
        }
        for (int i = 0; i < cell.Length; i++)
        {
            if (char.IsControl(cell[i]) || cell[i] is '\u2028' or '\u2029')
            {
                throw new InvalidDataException($"{where} has the {(char.IsControl(cell[i]) ? "control character" : "line separator")} U+{(int)cell[i]:X4} at character {i + 1}: an annotation's text is one printable line.");
            }
        }
        int bytes = Encoding.UTF8.GetByteCount(cell);
        if (bytes > MaxTextBytes)
        {
            throw new InvalidDataException($"{where} is {bytes} bytes of UTF-8: EDF+ readers such as EDFlib keep {MaxTextBytes}; shorten it.");
        }
        if (RecordingLayout.TryParseFill(cell, out _, out _))
        {
            throw new InvalidDataException($"{where} \"{cell}\" reads as this project's note of filled samples (\"Gap N samples\", \"Padding N samples\"): replay would skip real samples; reword it.");
        }
        return cell;
    }
}
