using System.Globalization;
using System.Text.RegularExpressions;
using EmgBiofeedback.Protocol;

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

    /// <summary>Annotation space per record: 170 BDF samples = 510 bytes, about 10 typical annotations a second.</summary>
    public const int AnnotationSamples = 170;

    public const string SessionStart = "Session start";
    public const string SessionStop = "Session stop";

    public static string GapText(long lost, string cause) => $"Gap {lost} samples ({cause})";

    public static string PaddingText(long samples) => $"Padding {samples} samples";

    [GeneratedRegex(@"^(Gap|Padding) (\d+) samples")]
    private static partial Regex SkipPattern();

    /// <summary>When <paramref name="text"/> marks filled samples (a gap or end padding): how many.</summary>
    public static bool TryParseFill(string text, out long samples, out bool isGap)
    {
        Match m = SkipPattern().Match(text);
        samples = m.Success ? long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        isGap = m.Success && m.Groups[1].Value == "Gap";
        return m.Success;
    }

    public static double MicrovoltsPerCount(BoardInfo board, double gain) =>
        board.ReferenceMillivolts * 1000.0 / (1 << board.AdcBits) / gain;

    public static BdfHeader BuildHeader(BoardInfo board, RecordingRequest request, RecorderOptions options, DateTime start)
    {
        int full = 1 << board.AdcBits;
        var signals = new BdfSignal[board.ChannelCount];
        for (int c = 0; c < board.ChannelCount; c++)
        {
            double gain = c < options.ChannelGains.Count ? options.ChannelGains[c] : options.SensorGain;
            double offset = options.AdcOffsetCounts ?? full / 2;
            double uvPerCount = MicrovoltsPerCount(board, gain);
            string label = c < request.Labels.Count && !string.IsNullOrWhiteSpace(request.Labels[c]) ? request.Labels[c] : $"CH{c + 1}";
            signals[c] = new BdfSignal(
                Truncate(label, 16),
                Truncate(string.Create(CultureInfo.InvariantCulture, $"sEMG surface electrodes, sensor gain {gain:0.###}, ADC {board.AdcBits} bit {board.ReferenceMillivolts} mV"), 80),
                "uV",
                // Digital range 0..2^bits (one past the largest count) so that the physical range is exactly
                // +-Vref/2/gain for a mid-scale offset: the 8-character fields then hold it without rounding.
                (0 - offset) * uvPerCount,
                (full - offset) * uvPerCount,
                0,
                full,
                "None (raw ADC counts)",
                board.SampleRateHz);
        }
        return new BdfHeader
        {
            PatientId = $"{Field(request.PatientCode)} X X X",
            RecordingId = Truncate(string.Create(CultureInfo.InvariantCulture,
                $"Startdate {start.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant()} {Field(request.Session)} X {Field(request.Station)} {Field(board.BoardName)}-fw{board.FirmwareVersion}"), 80),
            StartTime = start,
            Reserved = "BDF+C",
            RecordDurationSeconds = RecordSeconds,
            Signals = signals,
            AnnotationSamplesPerRecord = AnnotationSamples,
        };
    }

    /// <summary>The digital value of 0 V on a signal: what gaps and padding are filled with.</summary>
    public static int ZeroCount(BdfSignal s) => (int)Math.Round(s.DigitalMinimum - s.PhysicalMinimum / s.UnitsPerDigit);

    /// <summary>An EDF+ subfield: no spaces, printable ASCII, "X" when empty.</summary>
    private static string Field(string s)
    {
        string t = new(s.Trim().Select(c => c is > ' ' and <= '~' ? c : '_').ToArray());
        return t.Length == 0 ? "X" : Truncate(t, 20);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
