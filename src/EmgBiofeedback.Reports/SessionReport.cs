using System.Globalization;
using System.Text;
using EmgBiofeedback.Sessions;
using ScottPlot;
using static EmgBiofeedback.Reports.SvgPlots;

namespace EmgBiofeedback.Reports;

/// <summary>
/// The one-page printable report of a session: self-contained HTML (inline CSS and SVG, nothing fetched), A4 with
/// 12 mm margins, one page for up to 8 muscles and 10 trials. A header (pseudonymous patient code only: a recording
/// carries no name), one small plot per muscle of %MVC over the session (µV, with a note, for a muscle without
/// calibration) with targets, trial and baseline bands and markers, then the indices of the summary.
/// </summary>
public static class SessionReport
{
    /// <summary>Points per muscle plot at most: long sessions are downsampled by min/max per bucket.</summary>
    public const int MaxPlotPoints = 1500;

    /// <summary>Markers listed in the marker table at most (the summary JSON has them all).</summary>
    public const int MaxMarkerRows = 10;

    private const string WorkFill = "#009E73";
    private const string RestFill = "#56B4E9";
    private const string BaselineFill = "#E69F00";

    public static string Render(ClinicalSession session, SessionSummary summary)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(summary);
        var html = new StringBuilder(64 * 1024);
        SessionInfo info = summary.Info;
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append(CultureInfo.InvariantCulture, $"<title>EMG session {Html(info.SessionId)} – {Html(info.PatientCode)}</title>\n");
        html.Append("<style>").Append(StyleText).Append("</style>\n</head>\n<body>\n<main class=\"page\">\n");
        Header(html, summary);
        Plots(html, session, summary);
        Indices(html, summary);
        TrialTable(html, summary);
        Pairs(html, summary);
        Markers(html, summary);
        Footnote(html, summary);
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>The text of the report's one &lt;style&gt; element (the report has no style attribute).</summary>
    private const string StyleText = "\n" + Css;

    /// <summary>
    /// The CSP source that allows exactly the report's style ('sha256-…' of <see cref="StyleText"/>): a page that shows
    /// a report it fetched (from a blob: URL, which inherits the page's Content-Security-Policy) lists it in style-src.
    /// </summary>
    public static string StyleCspSource { get; } =
        $"'sha256-{Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(StyleText)))}'";

    private const string Css = """
        @page { size: A4; margin: 12mm; }
        * { box-sizing: border-box; }
        html, body { margin: 0; padding: 0; background: #fff; color: #000; }
        body { font: 8pt/1.25 Arial, Helvetica, "DejaVu Sans", sans-serif; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        .page { width: 186mm; margin: 0 auto; }
        h1 { font-size: 11pt; margin: 0 0 1mm 0; }
        h2 { font-size: 8pt; margin: 1.2mm 0 0.4mm 0; }
        .head { display: grid; grid-template-columns: repeat(4, auto); gap: 0 4mm; border-bottom: 0.3mm solid #000; padding-bottom: 1mm; }
        .head div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .head .wide { grid-column: 1 / -1; white-space: normal; }
        .k { color: #444; }
        .plots { display: grid; gap: 0.6mm 2mm; margin-top: 1mm; }
        .plots.one { grid-template-columns: 1fr; }
        .plots.two { grid-template-columns: 1fr 1fr; }
        figure { margin: 0; break-inside: avoid; }
        svg.plot { display: block; width: 100%; height: auto; }
        figcaption { font-size: 7pt; color: #444; }
        .legend { font-size: 7pt; color: #222; margin: 0.4mm 0 0 0; }
        .swatch { display: inline-block; width: 3mm; height: 2mm; vertical-align: middle; border: 0.1mm solid #666; }
        .swatch.work { background: #009E7338; }
        .swatch.rest { background: #56B4E91f; }
        .swatch.baseline { background: #E69F0038; }
        table { border-collapse: collapse; width: 100%; font-size: 7pt; line-height: 1.1; break-inside: avoid; }
        th, td { border-bottom: 0.1mm solid #bbb; padding: 0.1mm 0.8mm; text-align: right; white-space: nowrap; }
        th { background: #eee; font-weight: bold; white-space: normal; }
        th:first-child, td:first-child { text-align: left; }
        td.text, th.text { text-align: left; white-space: normal; max-width: 40mm; overflow-wrap: anywhere; }
        .pairs { display: grid; grid-template-columns: 2fr 1fr; gap: 0 3mm; }
        .cc { columns: 2; column-gap: 3mm; }
        .cc div { display: flex; justify-content: space-between; border-bottom: 0.1mm solid #bbb; font-size: 7pt; padding: 0 0.8mm; break-inside: avoid; }
        .note { font-size: 7pt; color: #333; margin: 0.4mm 0; }
        footer { margin-top: 1.5mm; border-top: 0.2mm solid #000; padding-top: 0.6mm; font-size: 6.5pt; color: #333; }
        @media screen { body { padding: 8mm 0; background: #ddd; } .page { background: #fff; padding: 12mm; width: 210mm; min-height: 297mm; } }

        """;

    private static void Header(StringBuilder html, SessionSummary s)
    {
        SessionInfo info = s.Info;
        html.Append("<h1>EMG biofeedback session report</h1>\n<section class=\"head\">\n");
        Field(html, "Session", info.SessionId);
        Field(html, "Patient code", info.PatientCode);
        Field(html, "Station", info.Station);
        Field(html, "Date", info.Start.ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture));
        Field(html, "Duration", Duration(s.DurationSeconds));
        Field(html, "Source", info.Source);
        Field(html, "Frames", s.Frames.ToString(CultureInfo.InvariantCulture));
        Field(html, "Trials", s.Trials.Count.ToString(CultureInfo.InvariantCulture));
        html.Append("<div class=\"wide\"><span class=\"k\">Montage:</span> ")
            .Append(Html(s.Montage.Count == 0 ? "no channel names a muscle" : string.Join(", ", s.Montage.Select(e => $"{e.Label} (ch {e.Channel + 1})"))))
            .Append("</div>\n");
        html.Append("<div class=\"wide\"><span class=\"k\">Targets:</span> ")
            .Append(Html(s.Targets.Count == 0 ? "none" : string.Join("; ", s.Targets))).Append("</div>\n");
        html.Append("</section>\n");
    }

    private static void Field(StringBuilder html, string key, string value) =>
        html.Append("<div><span class=\"k\">").Append(Html(key)).Append(":</span> ").Append(Html(value)).Append("</div>\n");

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Round(Math.Max(0, seconds)));
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00} min");
    }

    private const float PadLeft = 40, PadRight = 6, PadTop = 3, PadBottom = 15;
    private const double CharPx = 4.4; // width of a character of the 7-px labels, about

    private static void Plots(StringBuilder html, ClinicalSession session, SessionSummary s)
    {
        if (s.Montage.Count == 0)
        {
            html.Append("<p class=\"note\">No channel names a muscle: nothing to plot.</p>\n");
            return;
        }
        int columns = s.Montage.Count > 4 ? 2 : 1;
        int width = columns == 1 ? 700 : 346;
        int height = s.Montage.Count <= 2 ? 110 : 80;
        double rate = session.Setup.SampleRateHz;
        double seconds = s.DurationSeconds;
        bool minutes = seconds > 600;
        double unit = minutes ? 60 : 1;
        double xMax = Math.Max(seconds, 1) / unit;
        double pxPerUnit = (width - PadLeft - PadRight) / xMax;
        var markers = session.Applied.Where(a => a.Kind == ClinicalAnnotationKind.Marker).OrderBy(a => a.Position).ToArray();
        var bands = session.Applied.Where(a => a.Kind is ClinicalAnnotationKind.Trial or ClinicalAnnotationKind.Baseline && a.Duration > 0)
            .OrderBy(a => a.Position).ToArray();
        var notes = new List<string>();
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"plots {(columns == 1 ? "one" : "two")}\">\n");
        for (int i = 0; i < s.Montage.Count; i++)
        {
            MontageEntry e = s.Montage[i];
            bool calibrated = s.Calibration.ContainsKey(e.Label) && e.Channel < session.Frames.Channels && HasFinite(session.Frames.Percent(e.Channel));
            if (!calibrated)
            {
                notes.Add(e.Label);
            }
            using Plot plot = NewPlot();
            plot.Layout.Fixed(new PixelPadding(PadLeft, PadRight, PadBottom, PadTop));
            bool topRow = i < columns;
            (double[] xs, double[] ys) = Series(session, e.Channel, calibrated, unit);
            double yMax = ys.Where(double.IsFinite).DefaultIfEmpty(0).Max();
            var targets = calibrated ? TargetSegments(session, e.Label, xMax * unit * rate) : [];
            foreach (var t in targets)
            {
                yMax = Math.Max(yMax, t.Spec.Level);
            }
            yMax = Math.Max(yMax * (topRow ? 1.3 : 1.15), calibrated ? 10 : 1);

            foreach (ClinicalAnnotation b in bands)
            {
                (string fill, string label) = b.Kind == ClinicalAnnotationKind.Baseline
                    ? (BaselineFill, b.Flag ? "pre" : "post")
                    : b.Flag ? (WorkFill, $"W{b.Trial}") : (RestFill, $"R{b.Trial}");
                double x1 = b.Position / rate / unit, x2 = (b.Position + b.Duration) / rate / unit;
                var span = plot.Add.HorizontalSpan(x1, x2, Color.FromHex(fill).WithAlpha(b.Kind == ClinicalAnnotationKind.Trial && !b.Flag ? 0.12 : 0.22));
                span.LineWidth = 0;
                if (topRow && (x2 - x1) * pxPerUnit >= (CharPx * label.Length) + 2)
                {
                    Label(plot, label, (x1 + x2) / 2, yMax, Alignment.UpperCenter);
                }
            }
            var line = plot.Add.ScatterLine(xs, ys, Colour(i));
            line.LineWidth = 1;
            line.MarkerSize = 0;
            foreach (var t in targets)
            {
                double x1 = t.From / rate / unit, x2 = t.To / rate / unit;
                var level = plot.Add.Line(x1, t.Spec.Level, x2, t.Spec.Level);
                level.LineColor = Colors.Black;
                level.LineWidth = 1.2f;
                level.LinePattern = LinePattern.Dashed;
                level.MarkerSize = 0;
                Label(plot, (t.Spec.Direction == TargetDirection.Below ? "target < " : "target > ") + ClinicalAnnotation.Number(t.Spec.Level), x1, t.Spec.Level, Alignment.LowerLeft);
            }
            // Marker labels on two staggered levels below the band labels; one that would overlap both is left out
            // (its dotted line stays; the table lists every marker).
            double[] free = [double.NegativeInfinity, double.NegativeInfinity];
            for (int m = 0; m < markers.Length; m++)
            {
                double x = markers[m].Position / rate / unit;
                plot.Add.VerticalLine(x, 1, Color.FromHex("#444444"), LinePattern.Dotted);
                double px = x * pxPerUnit;
                int lane = free[0] <= px ? 0 : free[1] <= px ? 1 : -1;
                if (lane < 0)
                {
                    continue;
                }
                string label = $"M{m + 1}";
                if (topRow)
                {
                    double room = (m + 1 < markers.Length ? (markers[m + 1].Position / rate / unit * pxPerUnit) - px : (xMax * pxPerUnit) - px) / CharPx;
                    if (room >= label.Length + 6)
                    {
                        label += " " + Shorten(markers[m].Label, Math.Min(24, (int)room - label.Length - 1));
                    }
                }
                Label(plot, label, x, yMax * ((topRow ? 0.86 : 0.99) - (0.13 * lane)), Alignment.UpperLeft);
                free[lane] = px + (CharPx * label.Length) + 3;
            }
            plot.Axes.SetLimits(0, xMax, 0, yMax);
            plot.YLabel($"{e.Label} {(calibrated ? "%MVC" : "µV")}");
            html.Append("<figure>")
                .Append(Inline(plot, width, height, $"m{i}", $"{e.Label}: {(calibrated ? "%MVC" : "µV")} over the session"))
                .Append("</figure>\n");
        }
        html.Append("</section>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"legend\">Time in {(minutes ? "minutes" : "seconds")}. Bands: <span class=\"swatch work\"></span> W<i>n</i> work of trial <i>n</i>, ")
            .Append("<span class=\"swatch rest\"></span> R<i>n</i> rest, ")
            .Append("<span class=\"swatch baseline\"></span> pre/post baseline; dashed line: target level; ")
            .Append("dotted line: marker M<i>n</i> (table below). Gaps: no valid signal")
            .Append(minutes ? "; long sessions drawn as the minimum and maximum per time bucket." : ".");
        if (notes.Count > 0)
        {
            html.Append(" <b>Not calibrated, plotted in µV</b> (not comparable across muscles or sessions): ").Append(Html(string.Join(", ", notes))).Append('.');
        }
        html.Append("</p>\n");
    }

    private static void Label(Plot plot, string text, double x, double y, Alignment alignment)
    {
        var label = plot.Add.Text(text, x, y);
        label.LabelFontSize = 7;
        label.LabelAlignment = alignment;
        label.LabelFontColor = Color.FromHex("#222222");
        label.LabelBackgroundColor = Colors.White.WithAlpha(0.6);
        label.LabelPadding = 0;
    }

    private static bool HasFinite(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One muscle's curve: %MVC (or µV) of its valid frames, gaps where frames are invalid or missing, downsampled.</summary>
    private static (double[] Xs, double[] Ys) Series(ClinicalSession session, int channel, bool percent, double unit)
    {
        FrameStore frames = session.Frames;
        if (channel >= frames.Channels || frames.Count == 0)
        {
            return ([], []);
        }
        double rate = session.Setup.SampleRateHz;
        double step = rate / Math.Max(1e-9, session.Setup.OutputRateHz);
        ReadOnlySpan<long> index = frames.SampleIndices;
        ReadOnlySpan<double> values = percent ? frames.Percent(channel) : frames.Rms(channel);
        ReadOnlySpan<bool> valid = frames.Valid(channel);
        var xs = new double[frames.Count];
        var ys = new double[frames.Count];
        var breaks = new bool[frames.Count];
        for (int f = 0; f < frames.Count; f++)
        {
            xs[f] = index[f] / rate / unit;
            ys[f] = valid[f] ? values[f] : double.NaN;
            breaks[f] = f > 0 && index[f] - index[f - 1] > 1.5 * step;
        }
        return MinMax(xs, ys, breaks, MaxPlotPoints);
    }

    private static List<(long From, long To, TargetSpec Spec)> TargetSegments(ClinicalSession session, string label, double end)
    {
        var changes = session.TargetHistory.Where(t => string.Equals(t.Label, label, StringComparison.OrdinalIgnoreCase)).OrderBy(t => t.Position).ToArray();
        var segments = new List<(long, long, TargetSpec)>();
        for (int k = 0; k < changes.Length; k++)
        {
            if (changes[k].Spec is { } spec)
            {
                long to = k + 1 < changes.Length ? changes[k + 1].Position : (long)Math.Ceiling(end);
                if (to > changes[k].Position)
                {
                    segments.Add((changes[k].Position, to, spec));
                }
            }
        }
        return segments;
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static void Indices(StringBuilder html, SessionSummary s)
    {
        html.Append("<h2>Indices per muscle (all trials pooled; %MVC)</h2>\n<table>\n<thead><tr><th>Muscle</th><th>Rest µV</th><th>MVC µV</th>")
            .Append("<th>Work mean</th><th>Work peak</th><th>Work in tgt</th><th>Rest mean</th><th>Rest peak</th><th>Rest in tgt</th>")
            .Append("<th>Base pre</th><th>Base post</th><th>Base Δ</th></tr></thead>\n<tbody>\n");
        foreach (MontageEntry e in s.Montage)
        {
            s.Calibration.TryGetValue(e.Label, out MuscleCalibration? cal);
            PeriodStats? work = s.Overall.Work.GetValueOrDefault(e.Label), rest = s.Overall.Rest.GetValueOrDefault(e.Label);
            PeriodStats? pre = s.BaselinePre.GetValueOrDefault(e.Label), post = s.BaselinePost.GetValueOrDefault(e.Label);
            html.Append("<tr><td>").Append(Html(e.Label)).Append("</td>");
            Cell(html, F(cal?.RestMicrovolts, "0.0"));
            Cell(html, F(cal?.MvcMicrovolts, "0.0"));
            Cell(html, F(work?.MeanPctMvc, "0.0"));
            Cell(html, F(work?.PeakPctMvc, "0.0"));
            Cell(html, Share(work?.TimeInTarget));
            Cell(html, F(rest?.MeanPctMvc, "0.0"));
            Cell(html, F(rest?.PeakPctMvc, "0.0"));
            Cell(html, Share(rest?.TimeInTarget));
            Cell(html, F(pre?.MeanPctMvc, "0.0"));
            Cell(html, F(post?.MeanPctMvc, "0.0"));
            Cell(html, Change(s.BaselineChange.GetValueOrDefault(e.Label)));
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    private static void Cell(StringBuilder html, string text) => html.Append("<td>").Append(Html(text)).Append("</td>");

    private static void TrialTable(StringBuilder html, SessionSummary s)
    {
        html.Append("<h2>Work mean %MVC per trial; asymmetry L vs R (All: every trial pooled)</h2>\n");
        if (s.Trials.Count == 0)
        {
            html.Append("<p class=\"note\">No trials in this session.</p>\n");
            return;
        }
        html.Append("<table>\n<thead><tr><th></th><th>All</th>");
        foreach (TrialSummary t in s.Trials)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>T{t.N}</th>");
        }
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (MontageEntry e in s.Montage)
        {
            html.Append("<tr><td>").Append(Html(e.Label)).Append("</td>");
            Cell(html, F(s.Overall.Work.GetValueOrDefault(e.Label)?.MeanPctMvc, "0.0"));
            foreach (TrialSummary t in s.Trials)
            {
                Cell(html, F(t.Work.GetValueOrDefault(e.Label)?.MeanPctMvc, "0.0"));
            }
            html.Append("</tr>\n");
        }
        foreach (string muscle in s.Overall.Asymmetry.Keys)
        {
            html.Append("<tr><td>Asymmetry ").Append(Html(muscle)).Append("</td>");
            Cell(html, Signed(s.Overall.Asymmetry[muscle]));
            foreach (TrialSummary t in s.Trials)
            {
                Cell(html, Signed(t.Asymmetry.GetValueOrDefault(muscle)));
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    private static void Pairs(StringBuilder html, SessionSummary s)
    {
        html.Append("<section class=\"pairs\">\n<div><h2>Co-contraction (work, all trials)</h2>\n<div class=\"cc\">\n");
        if (s.Overall.CoContraction.Count == 0)
        {
            html.Append("<div>no antagonist pair</div>\n");
        }
        foreach ((string pair, double? v) in s.Overall.CoContraction)
        {
            html.Append("<div><span>").Append(Html(pair)).Append("</span><span>").Append(Html(F(v, "0.00"))).Append("</span></div>\n");
        }
        html.Append("</div></div>\n<div><h2>Outcome scores</h2>\n<table><tbody>\n");
        if (s.Outcomes.Count == 0)
        {
            html.Append("<tr><td>none entered</td></tr>\n");
        }
        foreach ((string score, double v) in s.Outcomes)
        {
            html.Append("<tr><td>").Append(Html(OutcomeName(score))).Append("</td>");
            Cell(html, F(v, "0.##"));
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table></div>\n</section>\n");
    }

    internal static string OutcomeName(string score) => score switch
    {
        "twstrs_total" => "TWSTRS total",
        "tsui" => "Tsui",
        "days_since_botulinum_toxin" => "Days since botulinum toxin",
        _ => score,
    };

    private static void Markers(StringBuilder html, SessionSummary s)
    {
        html.Append(CultureInfo.InvariantCulture,
            $"<h2>Markers: mean %MVC {s.MarkerWindowSeconds:0.#} s before→after, change</h2>\n");
        if (s.Markers.Count == 0)
        {
            html.Append("<p class=\"note\">No markers.</p>\n");
            return;
        }
        html.Append("<table>\n<thead><tr><th>#</th><th>Time</th><th class=\"text\">Marker</th>");
        foreach (MontageEntry e in s.Montage)
        {
            html.Append("<th>").Append(Html(e.Label)).Append("</th>");
        }
        html.Append("</tr></thead>\n<tbody>\n");
        for (int m = 0; m < s.Markers.Count && m < MaxMarkerRows; m++)
        {
            MarkerSummary marker = s.Markers[m];
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>M{m + 1}</td>");
            Cell(html, Duration(marker.TimeSeconds).Replace(" min", "", StringComparison.Ordinal));
            html.Append("<td class=\"text\">").Append(Html(Shorten(marker.Label, 60))).Append("</td>");
            foreach (MontageEntry e in s.Montage)
            {
                MarkerEffect? effect = marker.Effect.GetValueOrDefault(e.Label);
                Cell(html, effect is null || (effect.BeforePctMvc is null && effect.AfterPctMvc is null) ? "–" : $"{F(effect.BeforePctMvc, "0.0")}→{F(effect.AfterPctMvc, "0.0")} {Change(effect.Change)}");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        if (s.Markers.Count > MaxMarkerRows)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{s.Markers.Count - MaxMarkerRows} more markers: see the summary JSON.</p>\n");
        }
    }

    private static void Footnote(StringBuilder html, SessionSummary s)
    {
        html.Append("<footer>\n");
        html.Append("%MVC = 100 × RMS envelope / MVC (amplitude normalisation, no rest subtraction); means over valid frames. ");
        html.Append("Asymmetry: ").Append(Html(SessionSummary.AsymmetryFormula)).Append(". ");
        html.Append("Co-contraction: ").Append(Html(SessionSummary.CoContractionFormula)).Append(". ");
        html.Append("In target: share of the period's valid frames inside the target zone. Baseline change: post / pre − 1. ");
        var methods = s.Calibration.Values.Select(c => c.Method).Distinct(StringComparer.Ordinal).ToArray();
        if (methods.Length > 0)
        {
            html.Append("MVC: ").Append(Html(string.Join("; ", methods))).Append(". ");
        }
        html.Append("– : no value. Schema ").Append(Html(SessionSummary.Schema)).Append('.');
        html.Append("\n</footer>\n");
    }
}
