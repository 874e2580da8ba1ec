using System.Globalization;
using System.Text.RegularExpressions;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording opened for replay, processing or export: the board it came from (rebuilt from the header so
/// replay configures the chain exactly as the live board did), its labels, annotations, and its samples
/// record by record as interleaved ADC counts with the filled (gap, padding) instants marked absent.
/// </summary>
public sealed partial class RecordingFile : IDisposable
{
    private readonly BdfReader _reader;
    private readonly int[] _digital;
    private readonly (long Start, long Count, bool IsGap)[] _fills;

    public RecordingFile(string path)
    {
        _reader = new BdfReader(path);
        Path = path;
        BdfHeader h = _reader.Header;
        if (h.Signals.Count is < 1 or > WireFormat.MaxChannels)
        {
            throw Foreign($"it has {h.Signals.Count} signals; a recording has 1 to {WireFormat.MaxChannels}");
        }
        int rate = h.Signals[0].SamplesPerRecord;
        if (h.Signals.Any(s => s.SamplesPerRecord != rate) || h.RecordDurationSeconds != 1)
        {
            throw Foreign("its signals have different sample rates or its records are not 1 s long");
        }
        if (h.Signals.Any(s => s.DigitalMinimum < 0 || s.DigitalMaximum > 65_536))
        {
            throw Foreign("its digital values are not unsigned ADC counts (0-65535)");
        }
        SampleRateHz = rate;
        Labels = h.Signals.Select(s => s.Label).ToArray();
        Annotations = _reader.ReadAnnotations();
        _fills = Annotations
            .Select(a => RecordingLayout.TryParseFill(a.Text, out long n, out bool gap)
                ? (Start: (long)Math.Round(a.OnsetSeconds * rate), Count: n, IsGap: gap)
                : (Start: 0L, Count: 0L, IsGap: false))
            .Where(f => f.Count > 0).OrderBy(f => f.Start).ToArray();
        Board = DescribeBoard(h, rate);
        _digital = new int[_reader.SamplesPerRecord];
    }

    public string Path { get; }
    public BdfHeader Header => _reader.Header;
    public BoardInfo Board { get; }
    public int SampleRateHz { get; }
    public int ChannelCount => Labels.Count;
    public IReadOnlyList<string> Labels { get; }
    public IReadOnlyList<BdfAnnotation> Annotations { get; }
    public long RecordCount => _reader.RecordCount;
    public bool Truncated => _reader.Truncated;

    /// <summary>Sample instants in the file, filled ones included.</summary>
    public long Instants => RecordCount * SampleRateHz;

    /// <summary>Filled instants: gaps in the acquisition and end padding.</summary>
    public IReadOnlyList<(long Start, long Count, bool IsGap)> Fills => _fills;

    /// <summary>
    /// Reads record <paramref name="record"/>: counts interleaved (instant-major, <see cref="ChannelCount"/> per
    /// instant) and, per instant, whether it was recorded (false where the recorder filled a gap or padded).
    /// </summary>
    public void ReadRecord(long record, Span<ushort> interleaved, Span<bool> recorded)
    {
        _reader.ReadRecord(record, _digital);
        int rate = SampleRateHz, channels = ChannelCount;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<int> signal = _digital.AsSpan(c * rate, rate);
            for (int i = 0; i < rate; i++)
            {
                interleaved[i * channels + c] = (ushort)signal[i];
            }
        }
        recorded[..rate].Fill(true);
        long first = record * rate, end = first + rate;
        foreach ((long start, long count, _) in _fills)
        {
            long a = Math.Max(start, first), b = Math.Min(start + count, end);
            if (a < b)
            {
                recorded[(int)(a - first)..(int)(b - first)].Fill(false);
            }
        }
    }

    public void Dispose() => _reader.Dispose();

    [GeneratedRegex(@"ADC (\d+) bit (\d+) mV")]
    private static partial Regex AdcPattern();

    [GeneratedRegex(@"sensor gain ([0-9.]+)")]
    private static partial Regex GainPattern();

    /// <summary>The board as the header describes it: ADC bits and reference from the transducer field, else derived.</summary>
    private static BoardInfo DescribeBoard(BdfHeader h, int rate)
    {
        BdfSignal s = h.Signals[0];
        int bits, refMv;
        Match m = AdcPattern().Match(s.Transducer);
        if (m.Success)
        {
            bits = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            refMv = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        else
        {
            bits = Math.Clamp((int)Math.Ceiling(Math.Log2(s.DigitalMaximum - s.DigitalMinimum)), 1, 16);
            Match g = GainPattern().Match(s.Transducer);
            double gain = g.Success ? double.Parse(g.Groups[1].Value, CultureInfo.InvariantCulture) : 200;
            refMv = (int)Math.Round(s.UnitsPerDigit * (1 << bits) * gain / 1000.0);
        }
        return new BoardInfo(WireFormat.ProtocolVersion, 0, 0, 0, h.Signals.Count, rate, bits, refMv, true, 0, "replay");
    }

    private InvalidDataException Foreign(string why) =>
        new($"{Path}: not a recording this project can replay: {why}.");
}
