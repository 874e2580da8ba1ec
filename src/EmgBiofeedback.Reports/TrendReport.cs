using System.Globalization;
using System.Text;
using System.Text.Json;
using EmgBiofeedback.Sessions;
using ScottPlot;
using static EmgBiofeedback.Reports.SvgPlots;

namespace EmgBiofeedback.Reports;

/// <summary>The indices of one session as a trend needs them, read from its summary JSON (schema emg-session-summary/1).</summary>
public sealed record TrendSession(
    DateTimeOffset Date,
    string SessionId,
    string PatientCode,
    IReadOnlyList<string> Labels,
    IReadOnlyDictionary<string, double?> WorkMean,
    IReadOnlyDictionary<string, double?> TimeInTarget,
    IReadOnlyDictionary<string, double?> Asymmetry,
    IReadOnlyDictionary<string, double?> BaselineChange,
    IReadOnlyDictionary<string, double> Outcomes);

/// <summary>
/// One patient's sessions over time, from their summary JSON files: a table by date of the main indices (per muscle
/// the work mean %MVC and time in target of all trials pooled, asymmetry per muscle, baseline change, outcome scores)
/// and plots of the work mean %MVC per muscle and of the outcome scores by date. HTML (self-contained) or plain text.
/// </summary>
public static class TrendReport
{
    /// <summary>Reads a summary; <see cref="InvalidDataException"/> when it is not JSON of schema emg-session-summary/1.</summary>
    /// <param name="date">The date to file it under; null: the summary's own session.start.</param>
    public static TrendSession Read(string summaryJson, DateTimeOffset? date = null)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(summaryJson);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("schema", out JsonElement schema)
                || schema.ValueKind != JsonValueKind.String || schema.GetString() != SessionSummary.Schema)
            {
                throw new InvalidDataException($"not a session summary (schema {SessionSummary.Schema})");
            }
            JsonElement session = root.GetProperty("session");
            DateTimeOffset start = date ?? DateTimeOffset.Parse(session.GetProperty("start").GetString()!, CultureInfo.InvariantCulture);
            var labels = new List<string>();
            if (session.TryGetProperty("montage", out JsonElement montage) && montage.ValueKind == JsonValueKind.Array)
            {
                labels.AddRange(montage.EnumerateArray().Select(e => e.GetProperty("label").GetString() ?? ""));
            }
            JsonElement overall = root.GetProperty("overall");
            var work = new Dictionary<string, double?>();
            var inTarget = new Dictionary<string, double?>();
            foreach (JsonProperty p in Object(overall, "work"))
            {
                work[p.Name] = Number(p.Value, "mean_pct_mvc");
                inTarget[p.Name] = Number(p.Value, "time_in_target");
                if (!labels.Contains(p.Name))
                {
                    labels.Add(p.Name);
                }
            }
            var asymmetry = Object(overall, "asymmetry").ToDictionary(p => p.Name, p => Value(p.Value));
            var change = root.TryGetProperty("baseline", out JsonElement baseline)
                ? Object(baseline, "change").ToDictionary(p => p.Name, p => Value(p.Value))
                : [];
            var outcomes = new Dictionary<string, double>();
            foreach (JsonProperty p in Object(root, "outcomes"))
            {
                if (Value(p.Value) is { } v)
                {
                    outcomes[p.Name] = v;
                }
            }
            return new TrendSession(start, session.GetProperty("id").GetString() ?? "", session.GetProperty("patient_code").GetString() ?? "",
                labels, work, inTarget, asymmetry, change, outcomes);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"not a readable session summary: {e.Message}", e);
        }
    }

    private static IEnumerable<JsonProperty> Object(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out JsonElement o) && o.ValueKind == JsonValueKind.Object ? o.EnumerateObject() : [];

    private static double? Number(JsonElement o, string name) => o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) ? Value(v) : null;

    private static double? Value(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>The sessions read and put in date order (the dates given; equal dates keep their order).</summary>
    public static IReadOnlyList<TrendSession> Sessions(IReadOnlyList<(DateTimeOffset Date, string SummaryJson)> sessions) =>
        sessions.Select(s => Read(s.SummaryJson, s.Date)).OrderBy(s => s.Date).ToArray();

    /// <summary>The muscles with at least one value in some session (one never calibrated has none: no column).</summary>
    private static IReadOnlyList<string> AllLabels(IReadOnlyList<TrendSession> sessions) =>
        sessions.SelectMany(s => s.Labels).Distinct(StringComparer.Ordinal)
            .Where(l => sessions.Any(s => s.WorkMean.GetValueOrDefault(l) is not null || s.TimeInTarget.GetValueOrDefault(l) is not null || s.BaselineChange.GetValueOrDefault(l) is not null))
            .ToArray();

    private static IReadOnlyList<string> AllMuscles(IReadOnlyList<TrendSession> sessions) =>
        sessions.SelectMany(s => s.Asymmetry.Keys).Distinct(StringComparer.Ordinal).ToArray();

    private static IReadOnlyList<string> AllScores(IReadOnlyList<TrendSession> sessions) =>
        ClinicalAnnotation.OutcomeScores.Where(k => sessions.Any(s => s.Outcomes.ContainsKey(k)))
            .Concat(sessions.SelectMany(s => s.Outcomes.Keys).Where(k => !ClinicalAnnotation.OutcomeScores.Contains(k)).Distinct(StringComparer.Ordinal))
            .ToArray();

    /// <summary>The trend as a self-contained HTML page.</summary>
    public static string Render(string patientCode, IReadOnlyList<(DateTimeOffset Date, string SummaryJson)> sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        IReadOnlyList<TrendSession> list = Sessions(sessions);
        IReadOnlyList<string> labels = AllLabels(list), muscles = AllMuscles(list), scores = AllScores(list);
        var html = new StringBuilder(32 * 1024);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>EMG trend – ").Append(Html(patientCode)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n<main class=\"page\">\n")
            .Append("<h1>EMG biofeedback trend – patient ").Append(Html(patientCode)).Append("</h1>\n")
            .Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{list.Count} session{(list.Count == 1 ? "" : "s")}")
            .Append(list.Count > 0 ? $", {Html(Day(list[0].Date))} to {Html(Day(list[^1].Date))}" : "").Append(". Indices of all trials pooled; %MVC of each session's own calibration.</p>\n");
        if (list.Count > 0)
        {
            html.Append("<section class=\"plots\">\n<figure>").Append(WorkPlot(list, labels)).Append("</figure>\n");
            if (scores.Count > 0)
            {
                html.Append("<figure>").Append(OutcomePlot(list, scores)).Append("</figure>\n");
            }
            html.Append("</section>\n");
        }
        html.Append("<table>\n<thead><tr><th rowspan=\"2\">Date</th><th rowspan=\"2\">Session</th>");
        foreach (string l in labels)
        {
            html.Append("<th colspan=\"3\">").Append(Html(l)).Append("</th>");
        }
        foreach (string m in muscles)
        {
            html.Append("<th rowspan=\"2\">Asym. ").Append(Html(m)).Append("</th>");
        }
        foreach (string k in scores)
        {
            html.Append("<th rowspan=\"2\">").Append(Html(SessionReport.OutcomeName(k))).Append("</th>");
        }
        html.Append("</tr>\n<tr>");
        foreach (string _ in labels)
        {
            html.Append("<th>Work %MVC</th><th>In target</th><th>Baseline Δ</th>");
        }
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (TrendSession s in list)
        {
            html.Append("<tr><td>").Append(Html(Day(s.Date))).Append("</td><td>").Append(Html(s.SessionId)).Append("</td>");
            foreach (string l in labels)
            {
                Cell(html, F(s.WorkMean.GetValueOrDefault(l), "0.0"));
                Cell(html, Share(s.TimeInTarget.GetValueOrDefault(l)));
                Cell(html, Change(s.BaselineChange.GetValueOrDefault(l)));
            }
            foreach (string m in muscles)
            {
                Cell(html, Signed(s.Asymmetry.GetValueOrDefault(m)));
            }
            foreach (string k in scores)
            {
                Cell(html, s.Outcomes.TryGetValue(k, out double v) ? F(v, "0.##") : "–");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n<footer>Asymmetry: ").Append(Html(SessionSummary.AsymmetryFormula))
            .Append(". Baseline Δ: post / pre − 1 of the baseline mean %MVC. In target: share of the work period's valid frames inside the target zone. – : no value.</footer>\n")
            .Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private const string Css = """
        @page { size: A4 landscape; margin: 12mm; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 8pt/1.25 Arial, Helvetica, "DejaVu Sans", sans-serif; color: #000; background: #fff; }
        h1 { font-size: 11pt; margin: 0 0 1mm 0; }
        .note { font-size: 7.5pt; color: #333; margin: 0.5mm 0; }
        .plots { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm; margin: 1mm 0 2mm 0; }
        figure { margin: 0; break-inside: avoid; }
        svg.plot { display: block; width: 100%; height: auto; }
        table { border-collapse: collapse; font-size: 7.5pt; }
        th, td { border-bottom: 0.1mm solid #bbb; padding: 0.3mm 1.2mm; text-align: right; white-space: nowrap; }
        th { background: #eee; text-align: center; }
        td:first-child, td:nth-child(2) { text-align: left; }
        tr { break-inside: avoid; }
        footer { margin-top: 1.5mm; font-size: 6.5pt; color: #333; }

        """;

    private static string Day(DateTimeOffset d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void Cell(StringBuilder html, string text) => html.Append("<td>").Append(Html(text)).Append("</td>");

    private static string WorkPlot(IReadOnlyList<TrendSession> list, IReadOnlyList<string> labels)
    {
        using Plot plot = NewPlot();
        double[] xs = list.Select(s => s.Date.UtcDateTime.ToOADate()).ToArray();
        for (int i = 0; i < labels.Count; i++)
        {
            double[] ys = list.Select(s => s.WorkMean.GetValueOrDefault(labels[i]) ?? double.NaN).ToArray();
            Series(plot, xs, ys, i, labels[i]);
        }
        Finish(plot, xs, list.SelectMany(s => s.WorkMean.Values).Where(v => v is not null).Select(v => v!.Value), "Work mean %MVC per muscle", "%MVC");
        return Inline(plot, 480, 260, "trend-work", "Work mean %MVC per muscle by date");
    }

    private static string OutcomePlot(IReadOnlyList<TrendSession> list, IReadOnlyList<string> scores)
    {
        using Plot plot = NewPlot();
        double[] xs = list.Select(s => s.Date.UtcDateTime.ToOADate()).ToArray();
        for (int i = 0; i < scores.Count; i++)
        {
            double[] ys = list.Select(s => s.Outcomes.TryGetValue(scores[i], out double v) ? v : double.NaN).ToArray();
            Series(plot, xs, ys, i, SessionReport.OutcomeName(scores[i]));
        }
        Finish(plot, xs, list.SelectMany(s => s.Outcomes.Values), "Outcome scores", "score");
        return Inline(plot, 480, 260, "trend-outcomes", "Outcome scores by date");
    }

    /// <summary>A series drawn through its known points only (a session without the value is skipped, not a break).</summary>
    private static void Series(Plot plot, double[] xs, double[] ys, int i, string label)
    {
        double[] x = xs.Where((_, k) => double.IsFinite(ys[k])).ToArray();
        double[] y = ys.Where(double.IsFinite).ToArray();
        if (x.Length == 0)
        {
            return;
        }
        var scatter = plot.Add.Scatter(x, y, Colour(i));
        scatter.LineWidth = 1.5f;
        scatter.LinePattern = Patterns[i % Patterns.Length];
        scatter.MarkerShape = Shapes[i % Shapes.Length];
        scatter.MarkerSize = 6;
        scatter.LegendText = label;
    }

    private static void Finish(Plot plot, double[] xs, IEnumerable<double> values, string title, string unit)
    {
        plot.Axes.DateTimeTicksBottom();
        double lo = xs.Min(), hi = xs.Max();
        double pad = Math.Max(1, (hi - lo) * 0.05);
        double yMax = values.Where(double.IsFinite).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimits(lo - pad, hi + pad, 0, Math.Max(1, yMax * 1.15));
        plot.Title(title);
        plot.YLabel(unit);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Legend.FontSize = 8;
    }

    /// <summary>The trend table as plain text for a terminal: one line per session, columns aligned.</summary>
    public static string RenderText(string patientCode, IReadOnlyList<(DateTimeOffset Date, string SummaryJson)> sessions)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        IReadOnlyList<TrendSession> list = Sessions(sessions);
        IReadOnlyList<string> labels = AllLabels(list), muscles = AllMuscles(list), scores = AllScores(list);
        var header = new List<string> { "date", "session" };
        foreach (string l in labels)
        {
            header.AddRange([$"{l} work%", $"{l} in-tgt", $"{l} base-d"]);
        }
        header.AddRange(muscles.Select(m => $"asym {m}"));
        header.AddRange(scores);
        var rows = new List<string[]> { header.ToArray() };
        foreach (TrendSession s in list)
        {
            var row = new List<string> { Day(s.Date), s.SessionId };
            foreach (string l in labels)
            {
                row.AddRange([F(s.WorkMean.GetValueOrDefault(l), "0.0", "-"), Ascii(Share(s.TimeInTarget.GetValueOrDefault(l))), Ascii(Change(s.BaselineChange.GetValueOrDefault(l)))]);
            }
            row.AddRange(muscles.Select(m => Ascii(Signed(s.Asymmetry.GetValueOrDefault(m)))));
            row.AddRange(scores.Select(k => s.Outcomes.TryGetValue(k, out double v) ? F(v, "0.##") : "-"));
            rows.Add(row.ToArray());
        }
        int[] widths = Enumerable.Range(0, header.Count).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Patient {patientCode}: {list.Count} session{(list.Count == 1 ? "" : "s")}\n");
        foreach (string[] r in rows)
        {
            text.Append(string.Join("  ", r.Select((cell, c) => c < 2 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd()).Append('\n');
        }
        return text.ToString();
    }

    private static string Ascii(string s) => s.Replace('–', '-').Replace('−', '-');
}
