using System.Text.Json;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// The indices of <see cref="SessionAnalysis.Summarize"/> on frames with known %MVC (every channel calibrated with
/// MVC 100 µV, so %MVC = µV) and the summary JSON's keys: mean, peak, time in target, asymmetry (L − R)/(L + R),
/// Falconer and Winter's co-contraction 2Σmin/(Σa + Σb) on the default montage's antagonist pairs, marker effects
/// (after/before − 1 over 10 s), baseline change.
/// </summary>
public sealed class AnalysisTests
{
    private static readonly SessionInfo Info = new("sess-1", "P007", "station-2", new DateTimeOffset(2026, 3, 4, 9, 30, 0, TimeSpan.Zero), "live");

    // Channel order of the default montage: SCM L, SCM R, UT L, UT R.
    private static Env Signal(long i, int c)
    {
        double[] v = i switch
        {
            < 10_000 => [10, 10, 4, 4],                                   // baseline pre
            < 15_000 => [30, 20, 15, 5],                                  // trial 1 work, first half
            < 20_000 => [50, 20, 15, 5],                                  // trial 1 work, second half
            < 30_000 => [5, 5, 5, 5],                                     // trial 1 rest
            < 30_200 => [999, 999, 999, 999],                             // trial 2 work: 10 invalid frames
            < 40_000 => [12, 36, 8, 8],                                   // trial 2 work
            < 50_000 => [6, 6, 6, 6],                                     // trial 2 rest
            < 60_000 => [5, 10, 2, 4],                                    // baseline post
            < 70_000 => [40, 10, 10, 0],                                  // before the marker
            _ => [20, 10, 10, 10],                                        // after the marker
        };
        return new Env(v[c], Valid: !(i is >= 30_000 and < 30_200));
    }

    private static Rig Session()
    {
        var rig = new Rig();
        foreach (string label in new[] { "SCM L", "SCM R", "UT L", "UT R" })
        {
            rig.Apply($"calibration reused {label} rest 5 mvc 100 from 2026-01-01T00:00:00Z", 0);
        }
        rig.Apply("target SCM L below 20", 0);
        rig.Apply("baseline pre", 0, 10_000);
        rig.Apply("trial 1 work", 10_000, 10_000);
        rig.Apply("trial 1 rest", 20_000, 10_000);
        rig.Apply("trial 2 work", 30_000, 10_000);
        rig.Apply("trial 2 rest", 40_000, 10_000);
        rig.Apply("baseline post", 50_000, 10_000);
        rig.Apply("sensory trick", 70_000);
        rig.Apply("outcome twstrs_total 42", 75_000);
        rig.FeedUntil(80_000, Signal);
        rig.Session.Flush();
        return rig;
    }

    [Fact]
    public void Default_montage_pairs_are_SCM_and_UT_left_right_for_both_indices()
    {
        Assert.Equal(["SCM L/SCM R", "UT L/UT R"], Montage.Default.BilateralPairs.Select(p => p.Key));
        Assert.Equal(["SCM L/SCM R", "UT L/UT R"], Montage.Default.AntagonistPairs.Select(p => p.Key));
        // Why: SCM and UT turn the face to the opposite side, so left turns the head right and right turns it left.
        Assert.Equal([Side.Right, Side.Left, Side.Right, Side.Left], Montage.Default.Entries.Select(e => e.TurnsHeadTo));
    }

    [Fact]
    public void Work_period_mean_peak_and_time_in_target_are_exact()
    {
        SessionSummary s = SessionAnalysis.Summarize(Session().Session, Info);
        Assert.Equal([1, 2], s.Trials.Select(t => t.N));
        TrialSummary t1 = s.Trials[0], t2 = s.Trials[1];

        PeriodStats scmL = t1.Work["SCM L"];
        Assert.Equal(40, scmL.MeanPctMvc);
        Assert.Equal(50, scmL.PeakPctMvc);
        Assert.Equal(500, scmL.ValidFrames);
        // Inside before the step to 30 %MVC; Above from the 10th frame beyond 20: 9 of 500 frames inside.
        Assert.Equal(9 / 500.0, scmL.TimeInTarget);
        Assert.Equal(40, scmL.MeanMicrovolts);

        Assert.Equal(new PeriodStats(20, 20, null, 20, 500), t1.Work["SCM R"]);
        Assert.Equal(new PeriodStats(15, 15, null, 15, 500), t1.Work["UT L"]);
        Assert.Equal(new PeriodStats(5, 5, null, 5, 500), t1.Work["UT R"]);
        Assert.Equal(5, t1.Rest["SCM L"].MeanPctMvc);

        // Trial 2: the 10 invalid frames (999 µV) count nowhere.
        Assert.Equal(new PeriodStats(12, 12, 1, 12, 490), t2.Work["SCM L"]);
        Assert.Equal(36, t2.Work["SCM R"].PeakPctMvc);

        // Overall: every work period pooled.
        Assert.Equal((250 * 30 + 250 * 50 + 490 * 12) / 990.0, s.Overall.Work["SCM L"].MeanPctMvc);
        Assert.Equal(50, s.Overall.Work["SCM L"].PeakPctMvc);
        Assert.Equal(0, s.Overall.N);
    }

    [Fact]
    public void Asymmetry_is_L_minus_R_over_L_plus_R_of_the_work_means_per_muscle()
    {
        SessionSummary s = SessionAnalysis.Summarize(Session().Session, Info);
        Assert.Equal(["SCM", "UT"], s.Trials[0].Asymmetry.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((40.0 - 20) / (40 + 20), s.Trials[0].Asymmetry["SCM"]);
        Assert.Equal(0.5, s.Trials[0].Asymmetry["UT"]);
        Assert.Equal(-0.5, s.Trials[1].Asymmetry["SCM"]);
        Assert.Equal(0, s.Trials[1].Asymmetry["UT"]);
    }

    [Fact]
    public void Co_contraction_is_Falconer_and_Winter_on_the_antagonist_pairs()
    {
        SessionSummary s = SessionAnalysis.Summarize(Session().Session, Info);
        Assert.Equal(["SCM L/SCM R", "UT L/UT R"], s.Trials[0].CoContraction.Keys.Order(StringComparer.Ordinal));
        // Trial 1: SCM L 30|50 against SCM R 20 → 2 × 500 × 20 / (20 000 + 10 000).
        Assert.Equal(2.0 * 10_000 / 30_000, s.Trials[0].CoContraction["SCM L/SCM R"]);
        Assert.Equal(2.0 * 2_500 / 10_000, s.Trials[0].CoContraction["UT L/UT R"]);
        // Trial 2: 12 against 36 on 490 valid frames → 2 × 12 / 48.
        Assert.Equal(0.5, s.Trials[1].CoContraction["SCM L/SCM R"]);
        Assert.Equal(1, s.Trials[1].CoContraction["UT L/UT R"]);
    }

    [Fact]
    public void Marker_effect_is_after_over_before_minus_one_of_the_10s_means()
    {
        SessionSummary s = SessionAnalysis.Summarize(Session().Session, Info);
        MarkerSummary m = Assert.Single(s.Markers);
        Assert.Equal(("sensory trick", 70.0), (m.Label, m.TimeSeconds));
        Assert.Equal(new MarkerEffect(40, 20, -0.5), m.Effect["SCM L"]);
        Assert.Equal(new MarkerEffect(10, 10, 0), m.Effect["SCM R"]);
        Assert.Equal(new MarkerEffect(0, 10, null), m.Effect["UT R"]); // nothing before: no ratio
    }

    [Fact]
    public void Baseline_change_is_post_over_pre_minus_one()
    {
        SessionSummary s = SessionAnalysis.Summarize(Session().Session, Info);
        Assert.Equal(10, s.BaselinePre["SCM L"].MeanPctMvc);
        Assert.Equal(5, s.BaselinePost["SCM L"].MeanPctMvc);
        Assert.Equal(-0.5, s.BaselineChange["SCM L"]);
        Assert.Equal(0, s.BaselineChange["SCM R"]);
        Assert.Equal(-0.5, s.BaselineChange["UT L"]);
        Assert.Equal(0, s.BaselineChange["UT R"]);
        Assert.Equal(42, s.Outcomes["twstrs_total"]);
        Assert.Equal(["SCM L below 20"], s.Targets);
        Assert.Equal(80.0, s.DurationSeconds);
        Assert.Equal(4_000, s.Frames);
    }

    [Fact]
    public void Summary_json_has_the_issues_keys_and_values()
    {
        string json = SummaryJson.Write(SessionAnalysis.Summarize(Session().Session, Info));
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal("emg-session-summary/1", root.GetProperty("schema").GetString());
        Assert.Equal("sess-1", root.GetProperty("session").GetProperty("id").GetString());
        Assert.Equal(4, root.GetProperty("session").GetProperty("montage").GetArrayLength());

        JsonElement cal = root.GetProperty("calibration").GetProperty("SCM L");
        Assert.Equal(5, cal.GetProperty("rest_uv").GetDouble());
        Assert.Equal(100, cal.GetProperty("mvc_uv").GetDouble());
        Assert.Equal(MuscleCalibration.ReusedMethod, cal.GetProperty("method").GetString());
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R"], root.GetProperty("calibration").EnumerateObject().Select(p => p.Name));

        JsonElement trials = root.GetProperty("trials");
        Assert.Equal(2, trials.GetArrayLength());
        JsonElement t1 = trials[0];
        Assert.Equal(1, t1.GetProperty("n").GetInt32());
        Assert.Equal(2, trials[1].GetProperty("n").GetInt32());
        JsonElement work = t1.GetProperty("work");
        Assert.Equal(40, work.GetProperty("SCM L").GetProperty("mean_pct_mvc").GetDouble());
        Assert.Equal(50, work.GetProperty("SCM L").GetProperty("peak_pct_mvc").GetDouble());
        Assert.Equal(9 / 500.0, work.GetProperty("SCM L").GetProperty("time_in_target").GetDouble());
        Assert.Equal(JsonValueKind.Null, work.GetProperty("SCM R").GetProperty("time_in_target").ValueKind); // no target
        Assert.Equal((40.0 - 20) / (40 + 20), t1.GetProperty("asymmetry").GetProperty("SCM").GetDouble());
        Assert.Equal(0.5, t1.GetProperty("asymmetry").GetProperty("UT").GetDouble());
        Assert.Equal(2.0 * 10_000 / 30_000, t1.GetProperty("co_contraction").GetProperty("SCM L/SCM R").GetDouble());
        Assert.False(root.GetProperty("overall").TryGetProperty("n", out _));

        JsonElement marker = Assert.Single(root.GetProperty("markers").EnumerateArray());
        Assert.Equal("sensory trick", marker.GetProperty("label").GetString());
        Assert.Equal(70, marker.GetProperty("time_s").GetDouble());
        JsonElement effect = marker.GetProperty("effect").GetProperty("SCM L");
        Assert.Equal(40, effect.GetProperty("before_pct_mvc").GetDouble());
        Assert.Equal(20, effect.GetProperty("after_pct_mvc").GetDouble());
        Assert.Equal(-0.5, effect.GetProperty("change").GetDouble());
        Assert.Equal(JsonValueKind.Null, marker.GetProperty("effect").GetProperty("UT R").GetProperty("change").ValueKind);

        Assert.Equal(-0.5, root.GetProperty("baseline").GetProperty("change").GetProperty("SCM L").GetDouble());
        Assert.Equal(42, root.GetProperty("outcomes").GetProperty("twstrs_total").GetDouble());
        Assert.Equal("SCM L below 20", root.GetProperty("targets")[0].GetString());
    }

    [Fact]
    public void Without_calibration_the_percent_indices_are_null_and_the_microvolts_remain()
    {
        var rig = new Rig();
        rig.Apply("trial 1 work", 10_000, 10_000);
        rig.FeedUntil(20_000, Signal);
        SessionSummary s = SessionAnalysis.Summarize(rig.Session, Info);
        PeriodStats p = s.Trials[0].Work["SCM L"];
        Assert.Null(p.MeanPctMvc);
        Assert.Null(p.PeakPctMvc);
        Assert.Null(p.TimeInTarget);
        Assert.Equal(40, p.MeanMicrovolts);
        Assert.Null(s.Trials[0].Asymmetry["SCM"]);
        Assert.Null(s.Trials[0].CoContraction["SCM L/SCM R"]);
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.Write(s));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("trials")[0].GetProperty("work").GetProperty("SCM L").GetProperty("mean_pct_mvc").ValueKind);
    }

    [Fact]
    public void A_guard_target_counts_time_in_target_only_while_the_partner_works()
    {
        // UT L must stay below 10 while UT R works (at or above 30 %MVC). UT R works in the first half of the work
        // period, where UT L is quiet; in the second half UT R rests and UT L is at 50: those frames do not count.
        var rig = new Rig();
        rig.Apply("calibration reused UT L rest 5 mvc 100 from 2026-01-01T00:00:00Z", 0);
        rig.Apply("calibration reused UT R rest 5 mvc 100 from 2026-01-01T00:00:00Z", 0);
        rig.Apply("target UT L below 10 while UT R above 30", 0);
        rig.Apply("trial 1 work", 10_000, 10_000);
        rig.FeedUntil(20_000, (i, c) => c switch
        {
            2 => new Env(i < 15_000 ? 5 : 50),
            3 => new Env(i is >= 10_000 and < 15_000 ? 40 : 10),
            _ => new Env(5),
        });
        PeriodStats p = SessionAnalysis.Summarize(rig.Session, Info).Trials[0].Work["UT L"];
        Assert.Equal(500, p.ValidFrames);
        Assert.Equal(TargetState.Above, rig.Session.Frames.States(2)[^1]);
        Assert.Equal(1, p.TimeInTarget); // not (250 + 9) / 500: only the partner's working frames count
    }
}
