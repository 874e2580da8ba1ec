using System.Buffers;
using System.Buffers.Text;
using System.Text;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.History;

/// <summary>A growable UTF-8 buffer rented from <see cref="ArrayPool{T}.Shared"/>; reused batch after batch.</summary>
public sealed class LineBuffer : IDisposable
{
    private byte[] _buffer;

    public LineBuffer(int initialCapacity = 64 * 1024) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public int Length { get; private set; }

    public int Points { get; internal set; }

    /// <summary>The batch's spool/delivery order.</summary>
    public long Sequence { get; internal set; }

    /// <summary>True once the batch is complete in the spool (false only when the spool could not be written).</summary>
    internal bool Spooled { get; set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    public void Clear()
    {
        Length = 0;
        Points = 0;
    }

    public Span<byte> GetSpan(int sizeHint)
    {
        if (_buffer.Length - Length < sizeHint)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Length + sizeHint));
            _buffer.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        return _buffer.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Dispose()
    {
        byte[] b = _buffer;
        _buffer = [];
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

/// <summary>
/// Encodes activation frames, session events and summaries as InfluxDB line protocol, straight into UTF-8
/// (<see cref="Utf8Formatter"/>). The escaped measurement-and-tags prefix of each channel is built once per
/// session and label and reused, so encoding a point allocates nothing.
/// </summary>
public sealed class LineProtocolEncoder
{
    public const string ActivationMeasurement = "activation";
    public const string EventMeasurement = "session_event";
    public const string SummaryMeasurement = "session_summary";

    private static readonly StandardFormat Shortest = default; // 'G' shortest round-trip for float
    private readonly string _station;
    private HistorySession? _prefixSession;
    private bool _prefixBuilt;
    private SourceKind _prefixSource;
    private byte[][] _prefixes = [];
    private string[] _prefixLabels = [];

    public LineProtocolEncoder(string station) => _station = station;

    /// <summary>Appends one point per muscle of <paramref name="frame"/>, all at <paramref name="unixNs"/>.</summary>
    public void AppendActivation(LineBuffer buffer, ActivationFrame frame, HistorySession? session, long unixNs)
    {
        MuscleActivation[] muscles = frame.Muscles;
        EnsurePrefixes(session, muscles, session?.Source ?? frame.Source);
        for (int i = 0; i < muscles.Length; i++)
        {
            ref readonly MuscleActivation m = ref muscles[i];
            byte[] prefix = _prefixes[i];
            Span<byte> span = buffer.GetSpan(prefix.Length + 160);
            prefix.CopyTo(span);
            int n = prefix.Length;
            bool any = false;
            if (float.IsFinite(m.RmsMicrovolts))
            {
                n += Ascii(span[n..], "rms_uv=");
                n += Float(span[n..], m.RmsMicrovolts);
                any = true;
            }
            if (m.MvcPercent is float mvc && float.IsFinite(mvc))
            {
                n += Ascii(span[n..], any ? ",mvc_pct=" : "mvc_pct=");
                n += Float(span[n..], mvc);
                any = true;
            }
            n += Ascii(span[n..], any ? ",in_target=" : "in_target=");
            n += Ascii(span[n..], m.Target == TargetState.Inside ? "true" : "false");
            n += Ascii(span[n..], ",quality=");
            Utf8Formatter.TryFormat((int)m.Quality, span[n..], out int w);
            n += w;
            n += Ascii(span[n..], "i,valid=");
            n += Ascii(span[n..], m.Valid ? "true " : "false ");
            Utf8Formatter.TryFormat(unixNs, span[n..], out w);
            n += w;
            span[n++] = (byte)'\n';
            buffer.Advance(n);
            buffer.Points++;
        }
    }

    /// <summary>A session event: start, stop or a marker (e.g. a sensory trick), with its label as a string field.</summary>
    public void AppendEvent(LineBuffer buffer, string kind, string label, HistorySession? session, long unixNs)
    {
        var sb = new StringBuilder(EventMeasurement);
        AppendCommonTags(sb, session);
        sb.Append(",kind=").Append(EscapeTag(kind));
        sb.Append(" label=\"").Append(label.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append("\" ");
        sb.Append(unixNs).Append('\n');
        WriteString(buffer, sb);
    }

    /// <summary>
    /// One point per muscle summarising a session (the clinical summary's overall figures, calibration and baselines),
    /// and one per session with the outcome scores the clinician entered and the asymmetry indices.
    /// </summary>
    public void AppendSummary(LineBuffer buffer, HistorySession session, Sessions.SessionSummary summary, long unixNs)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        void Field(StringBuilder sb, string name, double? value)
        {
            if (value is { } v && double.IsFinite(v))
            {
                sb.Append(sb[^1] == ' ' ? "" : ",").Append(name).Append('=').Append(v.ToString("R", inv));
            }
        }
        foreach (MontageEntry m in summary.Montage)
        {
            var sb = new StringBuilder(SummaryMeasurement);
            AppendCommonTags(sb, session);
            sb.Append(",muscle=").Append(EscapeTag(m.Muscle)).Append(",side=").Append(ChannelLabels.TagValue(m.Side));
            sb.Append(" duration_s=").Append(summary.DurationSeconds.ToString("R", inv));
            PeriodStats work = summary.Overall.Work[m.Label], rest = summary.Overall.Rest[m.Label];
            sb.Append(",work_valid_frames=").Append(work.ValidFrames).Append('i');
            Field(sb, "work_mean_pct_mvc", work.MeanPctMvc);
            Field(sb, "work_peak_pct_mvc", work.PeakPctMvc);
            Field(sb, "work_time_in_target", work.TimeInTarget);
            Field(sb, "rest_mean_pct_mvc", rest.MeanPctMvc);
            Field(sb, "rest_time_in_target", rest.TimeInTarget);
            if (summary.Calibration.TryGetValue(m.Label, out MuscleCalibration? c))
            {
                Field(sb, "rest_uv", c.RestMicrovolts);
                Field(sb, "mvc_uv", c.MvcMicrovolts);
            }
            Field(sb, "baseline_pre_pct_mvc", summary.BaselinePre[m.Label].MeanPctMvc);
            Field(sb, "baseline_post_pct_mvc", summary.BaselinePost[m.Label].MeanPctMvc);
            sb.Append(' ').Append(unixNs).Append('\n');
            WriteString(buffer, sb);
        }
        var total = new StringBuilder(SummaryMeasurement);
        AppendCommonTags(total, session);
        total.Append(",muscle=all,side=none");
        total.Append(" duration_s=").Append(summary.DurationSeconds.ToString("R", inv));
        total.Append(",trials=").Append(summary.Trials.Count).Append("i,markers=").Append(summary.Markers.Count).Append('i');
        foreach ((string muscle, double? v) in summary.Overall.Asymmetry)
        {
            Field(total, "asymmetry_" + EscapeKey(muscle), v);
        }
        foreach ((string score, double v) in summary.Outcomes)
        {
            Field(total, score, v);
        }
        total.Append(' ').Append(unixNs).Append('\n');
        WriteString(buffer, total);
    }

    private static string EscapeKey(string key) => new(key.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray());

    private void AppendCommonTags(StringBuilder sb, HistorySession? session)
    {
        sb.Append(",patient=").Append(PatientTag(session));
        sb.Append(",session=").Append(SessionTag(session));
        sb.Append(",station=").Append(StationTag(session));
    }

    // Outside a session there is no recording: session and patient are "none". Inside, values as the recording keeps them.
    /// <summary>The <c>source</c> tag: what produced the samples, so simulated or replayed data never pass for a patient's.</summary>
    public static string SourceTag(SourceKind source) => source switch
    {
        SourceKind.SerialBoard => "board",
        SourceKind.SimulatedBoard => "simulated",
        SourceKind.Replay => "replay",
        _ => "unknown",
    };

    private static string PatientTag(HistorySession? session) => session is null ? "none" : EscapeTag(HistorySeries.RecordedField(session.PatientCode));

    private static string SessionTag(HistorySession? session) => session is null ? "none" : EscapeTag(HistorySeries.RecordedField(session.SessionId));

    private string StationTag(HistorySession? session) => EscapeTag(HistorySeries.RecordedField(session?.Station ?? _station));

    private static void WriteString(LineBuffer buffer, StringBuilder sb)
    {
        string s = sb.ToString();
        int n = Encoding.UTF8.GetBytes(s, buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(s.Length)));
        buffer.Advance(n);
        buffer.Points++;
    }

    private void EnsurePrefixes(HistorySession? session, MuscleActivation[] muscles, SourceKind source)
    {
        bool stale = !_prefixBuilt || !ReferenceEquals(session, _prefixSession) || _prefixes.Length != muscles.Length || source != _prefixSource;
        for (int i = 0; !stale && i < muscles.Length; i++)
        {
            stale = !ReferenceEquals(_prefixLabels[i], muscles[i].Label) && _prefixLabels[i] != muscles[i].Label;
        }
        if (!stale)
        {
            return;
        }
        _prefixBuilt = true;
        _prefixSession = session;
        _prefixSource = source;
        _prefixes = new byte[muscles.Length][];
        _prefixLabels = new string[muscles.Length];
        for (int i = 0; i < muscles.Length; i++)
        {
            (string muscle, Side side) = HistorySeries.Identify(muscles[i].Label, muscles[i].Channel);
            var sb = new StringBuilder(ActivationMeasurement);
            // Tags in key order: the server's canonical series key, so it need not sort them.
            sb.Append(",muscle=").Append(EscapeTag(muscle));
            sb.Append(",patient=").Append(PatientTag(session));
            sb.Append(",session=").Append(SessionTag(session));
            sb.Append(",side=").Append(ChannelLabels.TagValue(side));
            sb.Append(",source=").Append(SourceTag(source));
            sb.Append(",station=").Append(StationTag(session));
            sb.Append(' ');
            _prefixes[i] = Encoding.UTF8.GetBytes(sb.ToString());
            _prefixLabels[i] = muscles[i].Label;
        }
    }

    /// <summary>Tag keys and values escape commas, equals signs and spaces; an empty value is not allowed.</summary>
    internal static string EscapeTag(string value)
    {
        if (value.Length == 0)
        {
            return "none";
        }
        return value.Replace("\\", "\\\\").Replace(",", "\\,").Replace("=", "\\=").Replace(" ", "\\ ").Replace("\n", "\\n");
    }

    private static int Ascii(Span<byte> destination, string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            destination[i] = (byte)text[i];
        }
        return text.Length;
    }

    private static int Float(Span<byte> destination, float value)
    {
        Utf8Formatter.TryFormat(value, destination, out int written, Shortest);
        return written;
    }
}
