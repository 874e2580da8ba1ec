using System.Text;
using System.Text.Json;

namespace EmgBiofeedback.Sessions;

/// <summary>
/// The summary as JSON, schema "emg-session-summary/1" (docs/clinical.md): any tool can read it. Numbers are written in
/// their shortest exact form, so two summaries of the same session compare equal as text.
/// </summary>
public static class SummaryJson
{
    public static string Write(SessionSummary s)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("schema", SessionSummary.Schema);
            w.WriteStartObject("session");
            w.WriteString("id", s.Info.SessionId);
            w.WriteString("patient_code", s.Info.PatientCode);
            w.WriteString("station", s.Info.Station);
            w.WriteString("start", s.Info.Start.ToString("yyyy-MM-ddTHH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("source", s.Info.Source);
            w.WriteNumber("duration_s", s.DurationSeconds);
            w.WriteNumber("frames", s.Frames);
            w.WriteStartArray("montage");
            foreach (MontageEntry e in s.Montage)
            {
                w.WriteStartObject();
                w.WriteNumber("channel", e.Channel);
                w.WriteString("label", e.Label);
                w.WriteString("muscle", e.Muscle);
                w.WriteString("side", ChannelLabels.TagValue(e.Side));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartObject("calibration");
            foreach ((string label, MuscleCalibration c) in s.Calibration.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(label);
                w.WriteNumber("rest_uv", c.RestMicrovolts);
                w.WriteNumber("mvc_uv", c.MvcMicrovolts);
                w.WriteString("method", c.Method);
                w.WriteString("calibrated_at", c.CalibratedAt.ToString("yyyy-MM-ddTHH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteStartArray("targets");
            foreach (string t in s.Targets)
            {
                w.WriteStringValue(t);
            }
            w.WriteEndArray();

            w.WriteStartArray("trials");
            foreach (TrialSummary t in s.Trials)
            {
                Trial(w, t);
            }
            w.WriteEndArray();
            w.WritePropertyName("overall");
            Trial(w, s.Overall);

            w.WriteNumber("marker_window_s", s.MarkerWindowSeconds);
            w.WriteStartArray("markers");
            foreach (MarkerSummary m in s.Markers)
            {
                w.WriteStartObject();
                w.WriteString("label", m.Label);
                w.WriteNumber("time_s", m.TimeSeconds);
                w.WriteStartObject("effect");
                foreach ((string label, MarkerEffect e) in m.Effect)
                {
                    w.WriteStartObject(label);
                    Number(w, "before_pct_mvc", e.BeforePctMvc);
                    Number(w, "after_pct_mvc", e.AfterPctMvc);
                    Number(w, "change", e.Change);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartObject("baseline");
            Period(w, "pre", s.BaselinePre);
            Period(w, "post", s.BaselinePost);
            w.WriteStartObject("change");
            foreach ((string label, double? v) in s.BaselineChange)
            {
                Number(w, label, v);
            }
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("outcomes");
            foreach ((string score, double v) in s.Outcomes)
            {
                w.WriteNumber(score, v);
            }
            w.WriteEndObject();

            w.WriteStartObject("formulas");
            w.WriteString("asymmetry", SessionSummary.AsymmetryFormula);
            w.WriteString("co_contraction", SessionSummary.CoContractionFormula);
            w.WriteString("time_in_target", "share of the period's valid frames whose target state was inside the zone");
            w.WriteString("marker_change", "after / before - 1 of the mean %MVC in the windows after and before the marker");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Trial(Utf8JsonWriter w, TrialSummary t)
    {
        w.WriteStartObject();
        if (t.N > 0)
        {
            w.WriteNumber("n", t.N);
        }
        Period(w, "work", t.Work);
        Period(w, "rest", t.Rest);
        w.WriteStartObject("asymmetry");
        foreach ((string muscle, double? v) in t.Asymmetry)
        {
            Number(w, muscle, v);
        }
        w.WriteEndObject();
        w.WriteStartObject("co_contraction");
        foreach ((string pair, double? v) in t.CoContraction)
        {
            Number(w, pair, v);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Period(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, PeriodStats> stats)
    {
        w.WriteStartObject(name);
        foreach ((string label, PeriodStats p) in stats)
        {
            w.WriteStartObject(label);
            Number(w, "mean_pct_mvc", p.MeanPctMvc);
            Number(w, "peak_pct_mvc", p.PeakPctMvc);
            Number(w, "time_in_target", p.TimeInTarget);
            Number(w, "mean_uv", p.MeanMicrovolts);
            w.WriteNumber("valid_frames", p.ValidFrames);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
