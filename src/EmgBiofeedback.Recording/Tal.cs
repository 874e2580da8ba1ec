using System.Globalization;
using System.Text;

namespace EmgBiofeedback.Recording;

/// <summary>
/// Time-stamped annotation lists of EDF+ (specification section 2.2): "+onset[0x15duration]0x14text0x14" ended by 0x00.
/// Each data record's annotations start with the time-keeping TAL "+onset0x14 0x14 0x00" that dates the record.
/// Texts are written as UTF-8 (EDF+ allows it in annotations).
/// </summary>
internal static class Tal
{
    private const byte DurationMark = 0x15;
    private const byte TextMark = 0x14;

    public static string Seconds(double s)
    {
        string v = s.ToString("F7", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return v.StartsWith('-') ? v : "+" + v;
    }

    /// <summary>Writes the time-keeping TAL of a record; returns bytes written.</summary>
    public static int WriteTimeKeeping(Span<byte> destination, double recordOnsetSeconds)
    {
        int n = Encoding.ASCII.GetBytes(Seconds(recordOnsetSeconds), destination);
        destination[n++] = TextMark;
        destination[n++] = TextMark;
        destination[n++] = 0;
        return n;
    }

    public static byte[] Encode(BdfAnnotation a)
    {
        var s = new StringBuilder(Seconds(a.OnsetSeconds));
        if (a.DurationSeconds is { } d)
        {
            s.Append((char)DurationMark).Append(d.ToString("0.#######", CultureInfo.InvariantCulture));
        }
        s.Append((char)TextMark);
        // A text may not contain the TAL's own separators.
        s.Append(a.Text.Replace((char)TextMark, ' ').Replace((char)DurationMark, ' ').Replace('\0', ' '));
        s.Append((char)TextMark).Append('\0');
        return Encoding.UTF8.GetBytes(s.ToString());
    }

    /// <summary>Decodes one record's annotation bytes; the first TAL's onset is the record's onset.</summary>
    public static void Decode(ReadOnlySpan<byte> bytes, out double? recordOnset, List<BdfAnnotation> annotations)
    {
        recordOnset = null;
        bool first = true;
        while (bytes.Length > 0)
        {
            int end = bytes.IndexOf((byte)0);
            ReadOnlySpan<byte> tal = end < 0 ? bytes : bytes[..end];
            bytes = end < 0 ? [] : bytes[(end + 1)..];
            if (tal.IsEmpty)
            {
                continue; // padding between or after TALs
            }
            int textAt = tal.IndexOf(TextMark);
            if (textAt < 0)
            {
                throw new InvalidDataException("Malformed annotation: a TAL without its 0x14 separator.");
            }
            ReadOnlySpan<byte> time = tal[..textAt];
            int durAt = time.IndexOf(DurationMark);
            double onset = ParseSeconds(durAt < 0 ? time : time[..durAt]);
            double? duration = durAt < 0 ? null : ParseSeconds(time[(durAt + 1)..]);
            string[] texts = Encoding.UTF8.GetString(tal[(textAt + 1)..]).Split((char)TextMark);
            if (first)
            {
                recordOnset = onset;
                first = false;
            }
            foreach (string text in texts)
            {
                if (text.Length > 0)
                {
                    annotations.Add(new BdfAnnotation(onset, duration, text));
                }
            }
        }
    }

    private static double ParseSeconds(ReadOnlySpan<byte> s)
    {
        string v = Encoding.ASCII.GetString(s);
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d : throw new InvalidDataException($"Malformed annotation: \"{v}\" is not a time in seconds.");
    }
}
