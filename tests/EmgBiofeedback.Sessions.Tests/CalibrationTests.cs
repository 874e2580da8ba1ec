using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// The guided calibration through <see cref="ClinicalSession"/> (1000 Hz, 50 Hz output, default settings: 10-s rest,
/// 3 contractions of 5 s with 5 s between): a good one is accepted with MVC = median of the contractions' highest 1-s
/// mean and rest = mean of the rest window; an electrode off, clipping, or an MVC not above rest is refused, naming
/// the channel and the reason, and leaves the earlier calibration (or none) and the %MVC output unchanged.
/// </summary>
public sealed class CalibrationTests
{
    private const long RestLength = 10_000;
    private const long ContractionLength = 5_000;
    private const long Stride = 10_000; // contraction + rest between

    /// <summary>A session that ran the rest step from 0; the MVC step starts at <see cref="MvcStart"/>.</summary>
    private sealed class Guided
    {
        public Rig Rig { get; } = new();
        public long MvcStart { get; private set; }
        public int NoticesBeforeMvc { get; private set; }

        public Guided(bool reused, Func<long, int, Env> rest)
        {
            if (reused)
            {
                Rig.Apply(Rig.ReusedScmL, 0);
            }
            Rig.Session.StartCalibration(CalibrationStep.Rest, null, 0);
            Rig.FeedUntil(RestLength + 40, rest);
            Assert.Null(Rig.Session.Running);
        }

        public void Mvc(Func<long, int, Env> contraction)
        {
            MvcStart = Rig.Session.NextPosition;
            NoticesBeforeMvc = Rig.Notices.Count;
            Rig.Session.StartCalibration(CalibrationStep.Mvc, "SCM L", MvcStart);
            Rig.FeedUntil(MvcStart + 2 * Stride + ContractionLength + 40, (i, c) => contraction(i - MvcStart, c));
            Assert.Null(Rig.Session.Running);
            Rig.FeedUntil(Rig.NextIndex + 2_000, (_, _) => new Env(60));
        }

        public ClinicalNotice Done(int after = 0) => Rig.Notices.Skip(after).Last(n => n.Kind == NoticeKind.CalibrationDone);
    }

    /// <summary>Rest: 4 and 6 µV alternating on every channel (mean 5).</summary>
    private static Env Rest(long i, int c) => new((i / Rig.SamplesPerFrame) % 2 == 0 ? 4 : 6);

    /// <summary>
    /// Contraction k (0-based) of SCM L: 60 µV over its 5-s window with a 1.5-s plateau at plateaus[k] in the middle;
    /// 5 µV between contractions and on the other channels. <paramref name="t"/> counts from the step's start.
    /// </summary>
    private static Env Contractions(long t, int c, double[] plateaus, Func<int, long, SignalQualityFlags>? quality = null)
    {
        if (c != 0)
        {
            return new Env(5);
        }
        int k = (int)(t / Stride);
        long inWindow = t - k * Stride;
        if (k >= plateaus.Length || inWindow >= ContractionLength)
        {
            return new Env(5);
        }
        double v = inWindow is >= 1_500 and < 3_000 ? plateaus[k] : 60;
        return new Env(v, quality?.Invoke(k, inWindow) ?? SignalQualityFlags.None);
    }

    private static readonly double[] Good = [140, 100, 120];

    [Fact]
    public void A_good_calibration_gives_MVC_as_the_median_of_the_highest_1s_means_and_rest_as_the_window_mean()
    {
        var g = new Guided(reused: false, Rest);
        ClinicalNotice restDone = g.Done();
        Assert.True(restDone.Result!.Ok);
        Assert.Equal(CalibrationStep.Rest, restDone.Result.Step);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R"], restDone.Result.RestLevels.Keys.Order(StringComparer.Ordinal));
        Assert.All(restDone.Result.RestLevels.Values, r => Assert.Equal(5, r));
        Assert.Null(g.Rig.Session.CalibrationOf("SCM L")); // a rest alone calibrates nothing

        g.Mvc((t, c) => Contractions(t, c, Good));
        ClinicalNotice done = g.Done(g.NoticesBeforeMvc);
        Assert.True(done.Result!.Ok, done.Message);
        Assert.Equal(CalibrationStep.Mvc, done.Result.Step);
        Assert.Equal("SCM L", done.Label);
        MuscleCalibration cal = Assert.Single(done.Result.Accepted).Value;
        Assert.Equal(120, cal.MvcMicrovolts);
        Assert.Equal(5, cal.RestMicrovolts);
        Assert.Equal(CalibrationSettings.MvcMethod(3, 5, 100), cal.Method);
        Assert.Equal(cal, g.Rig.Session.CalibrationOf("SCM L"));
        Assert.Null(g.Rig.Session.CalibrationOf("SCM R"));

        // Each contraction's value is its plateau (the highest 1-s mean), reported as it is judged; then the step's MVC.
        var results = g.Rig.Notices.Skip(g.NoticesBeforeMvc).Where(n => n.Kind == NoticeKind.CalibrationResult).ToArray();
        Assert.Equal(4, results.Length);
        Assert.Contains("peak 140.0 µV", results[0].Message);
        Assert.Contains("peak 100.0 µV", results[1].Message);
        Assert.Contains("peak 120.0 µV", results[2].Message);
        Assert.Contains("120.0 µV (median of 3)", results[3].Message);

        // Output after the calibration: %MVC = 100 × µV / 120.
        var last = g.Rig.Outputs[^1].Values;
        Assert.Equal((float)(100.0 * 60 / 120), last[0].MvcPercent);
        Assert.Null(last[1].MvcPercent);
    }

    [Fact]
    public void A_good_calibration_emits_exactly_the_rest_three_mvc_windows_and_the_step_end_at_their_positions()
    {
        var g = new Guided(reused: false, Rest);
        g.Mvc((t, c) => Contractions(t, c, Good));
        var annotations = g.Rig.Annotations.ToArray();
        long s = g.MvcStart;
        Assert.Equal(
            new[]
            {
                (ClinicalAnnotationKind.CalibrationRest, "calibration rest", 0L, RestLength),
                (ClinicalAnnotationKind.CalibrationMvc, "calibration mvc SCM L", s, ContractionLength),
                (ClinicalAnnotationKind.CalibrationMvc, "calibration mvc SCM L", s + Stride, ContractionLength),
                (ClinicalAnnotationKind.CalibrationMvc, "calibration mvc SCM L", s + 2 * Stride, ContractionLength),
                (ClinicalAnnotationKind.CalibrationMvcEnd, "calibration mvc SCM L done", s + 2 * Stride + ContractionLength, 0L),
            },
            annotations.Select(a => (a.Kind, a.Text, a.Position, a.Duration)).ToArray());
        Assert.All(annotations.Skip(1), a => Assert.Equal("SCM L", a.Label));
        // Each reads back the same through the vocabulary.
        Assert.All(annotations, a => Assert.Equal(a, ClinicalAnnotation.Parse(a.Text, a.Position, a.Duration)));
    }

    [Fact]
    public void The_guided_steps_prompt_what_to_do_with_the_window_lengths()
    {
        var g = new Guided(reused: false, Rest);
        g.Mvc((t, c) => Contractions(t, c, Good));
        var prompts = g.Rig.Notices.Where(n => n.Kind == NoticeKind.CalibrationPrompt).ToArray();
        Assert.Equal(6, prompts.Length); // rest; contract, relax, contract, relax, contract
        Assert.Equal((0L, 10.0), (prompts[0].Position, prompts[0].SecondsLeft));
        long s = g.MvcStart;
        Assert.Equal([s, s + 5_000, s + 10_000, s + 15_000, s + 20_000], prompts.Skip(1).Select(p => p.Position));
        Assert.All(prompts.Skip(1), p => Assert.Equal(5.0, p.SecondsLeft));
        Assert.Equal([1, 1, 2, 2, 3], prompts.Skip(1).Select(p => p.Trial));
        Assert.All(prompts.Skip(1), p => Assert.Equal(3, p.Trials));
        Assert.Contains("SCM L", prompts[1].Instruction);
    }

    // ---- refusals ----

    private static double[] ScmLPercent(Rig rig) => rig.Session.Frames.Percent(0).ToArray();

    private static void AssertPercentIsReused(Rig rig)
    {
        // With the reused calibration (MVC 100 µV), %MVC of SCM L is 100 × µV / 100 on every frame.
        double[] pct = ScmLPercent(rig);
        double[] rms = rig.Session.Frames.Rms(0).ToArray();
        for (int f = 0; f < pct.Length; f++)
        {
            Assert.True(100.0 * rms[f] / 100 == pct[f], $"frame {f} (sample {rig.Session.Frames.SampleIndex(f)}): %MVC {pct[f]} with µV {rms[f]}");
        }
    }

    private static MuscleCalibration Reused => ClinicalAnnotation.Parse(Rig.ReusedScmL, 0, 0)!.Calibration!;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Electrode_off_refuses_the_rest_and_the_mvc_naming_the_channel_and_keeps_the_earlier_calibration(bool reused)
    {
        // SCM L flat (flatline bit) the whole time, the other electrodes fine.
        Env Flat(long i, int c, Env e) => c == 0 ? e with { Rms = 0.1, Quality = SignalQualityFlags.Flatline } : e;
        var g = new Guided(reused, (i, c) => Flat(i, c, Rest(i, c)));
        ClinicalNotice restDone = g.Done();
        Assert.False(restDone.Result!.Ok);
        ChannelRefusal r = Assert.Single(restDone.Result.Refused);
        Assert.Equal("SCM L", r.Label);
        Assert.Contains("flat line", r.Reason);
        ClinicalNotice restResult = g.Rig.Notices.Last(n => n.Kind == NoticeKind.CalibrationResult);
        Assert.Contains("SCM L: flat line", restResult.Message);

        g.Mvc((t, c) => Flat(t, c, Contractions(t, c, Good)));
        ClinicalNotice done = g.Done(g.NoticesBeforeMvc);
        Assert.False(done.Result!.Ok);
        ChannelRefusal m = Assert.Single(done.Result.Refused);
        Assert.Equal("SCM L", m.Label);
        Assert.Contains("flat line", m.Reason);
        Assert.Empty(done.Result.Accepted);

        Assert.Equal(reused ? Reused : null, g.Rig.Session.CalibrationOf("SCM L"));
        if (reused)
        {
            AssertPercentIsReused(g.Rig);
        }
        else
        {
            Assert.All(ScmLPercent(g.Rig), p => Assert.True(double.IsNaN(p)));
            Assert.All(g.Rig.Outputs, o => Assert.Null(o.Values[0].MvcPercent));
        }
    }

    [Fact]
    public void A_flat_line_on_another_electrode_refuses_only_that_channel_of_the_rest()
    {
        var g = new Guided(reused: false, (i, c) => c == 3 ? new Env(0.1, SignalQualityFlags.Flatline) : Rest(i, c));
        ClinicalNotice restDone = g.Done();
        ChannelRefusal r = Assert.Single(restDone.Result!.Refused);
        Assert.Equal("UT R", r.Label);
        Assert.Equal(["SCM L", "SCM R", "UT L"], restDone.Result.RestLevels.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Clipping_during_a_contraction_refuses_the_mvc_and_keeps_the_earlier_calibration(int clippedContraction, bool reused)
    {
        var g = new Guided(reused, Rest);
        g.Mvc((t, c) => Contractions(t, c, Good, (k, inWindow) => k == clippedContraction && inWindow is >= 2_000 and < 2_200 ? SignalQualityFlags.Clipping : SignalQualityFlags.None));
        ClinicalNotice done = g.Done(g.NoticesBeforeMvc);
        Assert.False(done.Result!.Ok);
        ChannelRefusal m = Assert.Single(done.Result.Refused);
        Assert.Equal("SCM L", m.Label);
        Assert.Contains("clipping", m.Reason);
        Assert.Contains($"contraction {clippedContraction + 1}", m.Reason);
        Assert.Equal(reused ? Reused : null, g.Rig.Session.CalibrationOf("SCM L"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_refused_mvc_round_never_changes_the_percent_output_even_between_its_contractions(int clippedContraction)
    {
        // The earlier calibration stays for the whole round: the %MVC shown (and the target states) never follow a
        // provisional MVC of a round that ends refused.
        var g = new Guided(reused: true, Rest);
        var seen = new List<MuscleCalibration?>();
        g.Rig.Session.Notice += n => seen.Add(g.Rig.Session.CalibrationOf("SCM L"));
        g.Mvc((t, c) => Contractions(t, c, Good, (k, inWindow) => k == clippedContraction && inWindow is >= 2_000 and < 2_200 ? SignalQualityFlags.Clipping : SignalQualityFlags.None));
        Assert.False(g.Done(g.NoticesBeforeMvc).Result!.Ok);
        Assert.All(seen, s => Assert.Equal(Reused, s));
        AssertPercentIsReused(g.Rig);
    }

    [Fact]
    public void An_mvc_step_aborted_after_one_contraction_keeps_the_earlier_calibration()
    {
        var g = new Guided(reused: true, Rest);
        long s = g.Rig.Session.NextPosition;
        int before = g.Rig.Notices.Count;
        g.Rig.Session.StartCalibration(CalibrationStep.Mvc, "SCM L", s);
        g.Rig.FeedUntil(s + Stride + 2_000, (i, c) => Contractions(i - s, c, Good)); // contraction 1 judged, 2 under way
        g.Rig.Session.Abort(g.Rig.Session.NextPosition);
        ClinicalNotice done = g.Done(before);
        Assert.False(done.Result!.Ok);
        Assert.Contains("aborted", done.Message);
        g.Rig.FeedUntil(g.Rig.NextIndex + 2_000, (_, _) => new Env(60));
        Assert.Equal(Reused, g.Rig.Session.CalibrationOf("SCM L"));
        AssertPercentIsReused(g.Rig);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_mvc_not_clearly_above_rest_is_refused_and_keeps_the_earlier_calibration(bool reused)
    {
        var g = new Guided(reused, Rest);
        g.Mvc((t, c) => Contractions(t, c, [5, 5, 5]) with { Rms = 5 }); // "contractions" at the rest level
        ClinicalNotice done = g.Done(g.NoticesBeforeMvc);
        Assert.False(done.Result!.Ok);
        ChannelRefusal m = Assert.Single(done.Result.Refused);
        Assert.Equal("SCM L", m.Label);
        Assert.Contains("not clearly above rest", m.Reason);
        Assert.Equal(reused ? Reused : null, g.Rig.Session.CalibrationOf("SCM L"));
        if (reused)
        {
            AssertPercentIsReused(g.Rig);
        }
    }

    [Fact]
    public void An_mvc_just_below_three_times_rest_is_refused_and_at_three_times_accepted()
    {
        var below = new Guided(reused: false, Rest);
        below.Mvc((t, c) => Contractions(t, c, [14.9, 14.9, 14.9]) with { Rms = c == 0 && t % Stride < ContractionLength ? 14.9 : 5 });
        Assert.Contains("not clearly above rest", Assert.Single(below.Done(below.NoticesBeforeMvc).Result!.Refused).Reason);

        var at = new Guided(reused: false, Rest);
        at.Mvc((t, c) => Contractions(t, c, [15, 15, 15]) with { Rms = c == 0 && t % Stride < ContractionLength ? 15 : 5 });
        Assert.True(at.Done(at.NoticesBeforeMvc).Result!.Ok);
        Assert.Equal(15, at.Rig.Session.CalibrationOf("SCM L")!.MvcMicrovolts);
    }

    [Fact]
    public void An_mvc_without_an_accepted_rest_is_refused()
    {
        var rig = new Rig();
        rig.Session.StartCalibration(CalibrationStep.Mvc, "SCM L", 0);
        rig.FeedUntil(2 * Stride + ContractionLength + 40, (t, c) => Contractions(t, c, Good));
        ClinicalNotice done = rig.Notices.Last(n => n.Kind == NoticeKind.CalibrationDone);
        Assert.False(done.Result!.Ok);
        Assert.Contains("rest", Assert.Single(done.Result.Refused).Reason);
        Assert.Null(rig.Session.CalibrationOf("SCM L"));
    }

    [Fact]
    public void A_retried_mvc_step_after_a_refusal_is_judged_on_its_own_contractions()
    {
        // Contraction 1 clipped: refused. The clinician fixes the gain and runs the MVC step again (the rest of the
        // round is still good): the retry's three clean contractions (median 120) are accepted.
        var g = new Guided(reused: false, Rest);
        g.Mvc((t, c) => Contractions(t, c, Good, (k, inWindow) => k == 0 && inWindow is >= 2_000 and < 2_200 ? SignalQualityFlags.Clipping : SignalQualityFlags.None));
        Assert.False(g.Done(g.NoticesBeforeMvc).Result!.Ok);
        g.Mvc((t, c) => Contractions(t, c, Good));
        ClinicalNotice retry = g.Done(g.NoticesBeforeMvc);
        Assert.True(retry.Result!.Ok, retry.Message + " / " + string.Join("; ", retry.Result.Refused.Select(r => r.Reason)));
        Assert.Equal(120, g.Rig.Session.CalibrationOf("SCM L")!.MvcMicrovolts);
    }

    [Fact]
    public void A_step_cannot_start_while_another_runs_nor_an_mvc_for_a_label_outside_the_montage()
    {
        var rig = new Rig();
        Assert.Equal("label", Assert.Throws<SessionRuleException>(() => rig.Session.StartCalibration(CalibrationStep.Mvc, "SPL L", 0)).Field);
        rig.Session.StartCalibration(CalibrationStep.Rest, null, 0);
        Assert.Throws<SessionStateException>(() => rig.Session.StartCalibration(CalibrationStep.Mvc, "SCM L", 0));
        Assert.Throws<SessionStateException>(() => rig.Session.StartProtocol(ProtocolTemplate.Short, 0));
    }

    // ---- the statistics themselves ----

    [Fact]
    public void PeakMean_is_the_highest_mean_over_any_run_of_the_window_excluding_invalid_frames()
    {
        double[] rms = [1, 1, 10, 20, 30, 1, 1];
        bool[] all = [.. rms.Select(_ => true)];
        Assert.Equal(20, CalibrationMath.PeakMean(rms, all, 3));
        Assert.Equal(30, CalibrationMath.PeakMean(rms, all, 1));
        Assert.Equal(64.0 / 7, CalibrationMath.PeakMean(rms, all, 50)); // window longer than the data: the whole mean
        bool[] valid = [true, true, true, true, false, true, true];
        Assert.Equal(15, CalibrationMath.PeakMean(rms, valid, 3)); // (10 + 20) / 2 over the run with the invalid 30
        Assert.True(double.IsNaN(CalibrationMath.PeakMean(rms, [.. rms.Select(_ => false)], 3)));
    }

    [Fact]
    public void Median_of_odd_and_even_counts_ignores_non_finite_values()
    {
        Assert.Equal(120, CalibrationMath.Median([140, 100, 120]));
        Assert.Equal(110, CalibrationMath.Median([140, 100, 120, double.NaN, 80]));
        Assert.True(double.IsNaN(CalibrationMath.Median([double.NaN])));
    }

    [Fact]
    public void RestLevel_is_the_mean_of_the_valid_frames()
    {
        Assert.Equal(5, CalibrationMath.RestLevel([4, 6, 100], [true, true, false]));
        Assert.True(double.IsNaN(CalibrationMath.RestLevel([4.0], [false])));
    }

    [Fact]
    public void QualityProblem_names_flat_line_before_clipping_before_too_few_valid_frames()
    {
        double[] rms = new double[10];
        bool[] valid = [.. Enumerable.Repeat(true, 10)];
        byte[] clean = new byte[10];
        Assert.Null(CalibrationMath.QualityProblem(rms, clean, valid, 0.9));
        byte[] both = [.. clean];
        both[3] = QualityBits.Flatline | QualityBits.Clipping;
        Assert.StartsWith("flat line in 10%", CalibrationMath.QualityProblem(rms, both, valid, 0.9));
        byte[] clip = [.. clean];
        clip[3] = QualityBits.Clipping;
        Assert.StartsWith("clipping in 10%", CalibrationMath.QualityProblem(rms, clip, valid, 0.9));
        bool[] few = [.. valid];
        few[0] = few[1] = false;
        Assert.StartsWith("only 80%", CalibrationMath.QualityProblem(rms, clean, few, 0.9));
        few[1] = true;
        Assert.Null(CalibrationMath.QualityProblem(rms, clean, few, 0.9)); // 90 % valid is enough
        Assert.NotNull(CalibrationMath.QualityProblem([], [], [], 0.9));
        byte[] mains = [.. clean];
        mains[0] = QualityBits.Mains | QualityBits.NoisyBaseline;
        Assert.Null(CalibrationMath.QualityProblem(rms, mains, valid, 0.9)); // not a reason to refuse a window
    }

    [Fact]
    public void PercentMvc_is_amplitude_normalised_without_rest_subtraction()
    {
        var c = new MuscleCalibration(5, 120, "m", DateTimeOffset.UnixEpoch);
        Assert.Equal(50, c.PercentMvc(60));
        Assert.Equal(0, c.PercentMvc(0));
    }
}
