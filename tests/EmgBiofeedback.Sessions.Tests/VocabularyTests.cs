using CsCheck;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// The annotation vocabulary is the only way clinical actions enter or leave a recording: every text the live layer
/// writes must read back through <see cref="ClinicalAnnotation.Parse"/> to the same meaning, numbers exact to the bit.
/// </summary>
public sealed class VocabularyTests
{
    private static ClinicalAnnotation Read(string text, long position = 1234, long duration = 0) =>
        ClinicalAnnotation.Parse(text, position, duration) ?? throw new InvalidOperationException($"\"{text}\" read as nothing");

    [Fact]
    public void Fixed_texts_read_back_as_their_kind()
    {
        ClinicalAnnotation rest = Read(ClinicalAnnotation.CalibrationRestText, 10, 10_000);
        Assert.Equal((ClinicalAnnotationKind.CalibrationRest, 10L, 10_000L), (rest.Kind, rest.Position, rest.Duration));

        ClinicalAnnotation pre = Read(ClinicalAnnotation.BaselineText(true), 0, 60_000);
        Assert.Equal((ClinicalAnnotationKind.Baseline, true, "baseline pre"), (pre.Kind, pre.Flag, pre.Text));
        ClinicalAnnotation post = Read(ClinicalAnnotation.BaselineText(false));
        Assert.Equal((ClinicalAnnotationKind.Baseline, false, "baseline post"), (post.Kind, post.Flag, post.Text));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(10, true)]
    [InlineData(99999, false)]
    public void Trial_texts_round_trip(int n, bool work)
    {
        string text = ClinicalAnnotation.TrialText(n, work);
        Assert.Equal($"trial {n} {(work ? "work" : "rest")}", text);
        ClinicalAnnotation a = Read(text, 500, 10_000);
        Assert.Equal((ClinicalAnnotationKind.Trial, n, work, 500L, 10_000L), (a.Kind, a.Trial, a.Flag, a.Position, a.Duration));
    }

    [Theory]
    [InlineData("SCM L")]
    [InlineData("UT R")]
    [InlineData("SPL")]
    [InlineData("CH5")]
    public void Calibration_mvc_text_round_trips_with_its_label(string label)
    {
        ClinicalAnnotation a = Read(ClinicalAnnotation.CalibrationMvcText(label), 100, 5_000);
        Assert.Equal((ClinicalAnnotationKind.CalibrationMvc, label), (a.Kind, a.Label));
    }

    public static TheoryData<TargetSpec?, string> Targets => new()
    {
        { TargetSpec.Below(20), "target SCM L below 20" },
        { TargetSpec.Above(35.5), "target SCM L above 35.5" },
        { new TargetSpec(TargetDirection.Below, 20, 15), "target SCM L below 20 release 15" },
        { new TargetSpec(TargetDirection.Below, 20, 18, 0.5), "target SCM L below 20 dwell 0.5" },
        { new TargetSpec(TargetDirection.Below, 20, 18, 0), "target SCM L below 20 dwell 0" },
        { new TargetSpec(TargetDirection.Above, 40, 30, 1.25), "target SCM L above 40 release 30 dwell 1.25" },
        { new TargetSpec(TargetDirection.Below, 15, TargetSpec.DefaultRelease(15), 0.2, "SCM R", 30), "target SCM L below 15 while SCM R above 30" },
        { new TargetSpec(TargetDirection.Below, 15, 10, 2, "UT R", 12.5), "target SCM L below 15 release 10 dwell 2 while UT R above 12.5" },
        { new TargetSpec(TargetDirection.Below, 0.1 + 0.2, 0.1, 1.0 / 3), "target SCM L below 0.30000000000000004 release 0.1 dwell 0.3333333333333333" },
        { null, "target SCM L off" },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_texts_round_trip_with_and_without_release_dwell_and_while(TargetSpec? spec, string expected)
    {
        string text = ClinicalAnnotation.TargetText("SCM L", spec);
        Assert.Equal(expected, text);
        ClinicalAnnotation a = Read(text);
        Assert.Equal(ClinicalAnnotationKind.Target, a.Kind);
        Assert.Equal("SCM L", a.Label);
        Assert.Equal(spec, a.Target); // record equality: every number to the bit
    }

    [Fact]
    public void Any_target_round_trips_exactly()
    {
        Gen.Select(Gen.Bool, Gen.Double[0.001, 200], Gen.Double[0, 1], Gen.Double[0, 10], Gen.Bool, Gen.Double[0.001, 200])
            .Sample(t =>
            {
                (bool below, double level, double share, double dwell, bool partner, double partnerLevel) = t;
                var spec = new TargetSpec(below ? TargetDirection.Below : TargetDirection.Above, level, level * share * 0.999, dwell,
                    partner && below ? "SCM R" : null, partner && below ? partnerLevel : 0);
                ClinicalAnnotation a = Read(ClinicalAnnotation.TargetText("UT L", spec));
                return a.Kind == ClinicalAnnotationKind.Target && a.Label == "UT L" && spec == a.Target;
            });
    }

    [Fact]
    public void Reused_calibration_text_round_trips_the_values_exactly_to_the_bit()
    {
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        double[] values = [5, 0.1 + 0.2, 1.0 / 3, 123.456e-7, 98765.4321, double.Epsilon, 1e300];
        foreach (double rest in values)
        {
            foreach (double mvc in values)
            {
                var c = new MuscleCalibration(rest, mvc, "median of three", at);
                string text = ClinicalAnnotation.ReusedText("SCM R", c);
                ClinicalAnnotation a = Read(text);
                Assert.Equal(ClinicalAnnotationKind.CalibrationReused, a.Kind);
                Assert.Equal("SCM R", a.Label);
                Assert.Equal(BitConverter.DoubleToInt64Bits(rest), BitConverter.DoubleToInt64Bits(a.Calibration!.RestMicrovolts));
                Assert.Equal(BitConverter.DoubleToInt64Bits(mvc), BitConverter.DoubleToInt64Bits(a.Calibration.MvcMicrovolts));
                Assert.Equal(MuscleCalibration.ReusedMethod, a.Calibration.Method);
                Assert.Equal(at.ToUniversalTime(), a.Calibration.CalibratedAt);
                Assert.Equal(TimeSpan.Zero, a.Calibration.CalibratedAt.Offset);
            }
        }
        Assert.Equal("calibration reused SCM L rest 5 mvc 100 from 2026-01-01T00:00:00Z",
            ClinicalAnnotation.ReusedText("SCM L", new MuscleCalibration(5, 100, "x", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))));
    }

    [Fact]
    public void Any_reused_calibration_round_trips_exactly()
    {
        Gen.Select(Gen.Double[1e-9, 1e6], Gen.Double[1e-9, 1e6]).Sample((rest, mvc) =>
        {
            ClinicalAnnotation a = Read(ClinicalAnnotation.ReusedText("LS L", new MuscleCalibration(rest, mvc, "m", DateTimeOffset.UnixEpoch)));
            return a.Calibration!.RestMicrovolts.Equals(rest) && a.Calibration.MvcMicrovolts.Equals(mvc);
        });
    }

    [Theory]
    [InlineData("twstrs_total", 42)]
    [InlineData("tsui", 12.5)]
    [InlineData("days_since_botulinum_toxin", 91)]
    public void Outcome_texts_round_trip(string score, double value)
    {
        ClinicalAnnotation a = Read(ClinicalAnnotation.OutcomeText(score, value));
        Assert.Equal((ClinicalAnnotationKind.Outcome, score, value), (a.Kind, a.Label, a.Value));
    }

    [Fact]
    public void An_unknown_outcome_score_is_a_marker()
    {
        Assert.Equal(ClinicalAnnotationKind.Marker, Read("outcome pain 3").Kind);
    }

    [Theory]
    [InlineData("start")]
    [InlineData("pause")]
    [InlineData("resume")]
    [InlineData("abort")]
    [InlineData("end")]
    public void Protocol_texts_are_the_runs_log_not_markers(string what)
    {
        ClinicalAnnotation a = Read(ClinicalAnnotation.ProtocolText("cd-3x10", what));
        Assert.Equal(ClinicalAnnotationKind.Protocol, a.Kind);
        Assert.Equal($"protocol cd-3x10 {what}", a.Text);
    }

    [Theory]
    [InlineData("sensory trick")]
    [InlineData("patient coughed")]
    [InlineData("trial one work")]
    [InlineData("target SCM L below lots")]
    public void Free_text_is_a_marker_carrying_its_text(string text)
    {
        ClinicalAnnotation a = Read(text, 70_000);
        Assert.Equal((ClinicalAnnotationKind.Marker, text, text, 70_000L), (a.Kind, a.Label, a.Text, a.Position));
    }

    [Fact]
    public void Marker_text_is_trimmed_and_blank_text_is_nothing()
    {
        Assert.Equal("sensory trick", Read("  sensory trick ").Label);
        Assert.Null(ClinicalAnnotation.Parse("   ", 0, 0));
    }

    [Fact]
    public void Station_notes_are_excluded_when_the_predicate_says_so()
    {
        static bool Station(string t) => t.StartsWith("session ", StringComparison.Ordinal) || t == "gap";
        Assert.Null(ClinicalAnnotation.Parse("session start", 0, 0, Station));
        Assert.Null(ClinicalAnnotation.Parse(" gap ", 0, 0, Station));
        Assert.Equal(ClinicalAnnotationKind.Marker, ClinicalAnnotation.Parse("sensory trick", 0, 0, Station)!.Kind);
        Assert.Equal(ClinicalAnnotationKind.Trial, ClinicalAnnotation.Parse("trial 1 work", 0, 10, Station)!.Kind);
        // Without the predicate a station note is a marker.
        Assert.Equal(ClinicalAnnotationKind.Marker, ClinicalAnnotation.Parse("session start", 0, 0)!.Kind);
    }

    [Fact]
    public void Live_texts_of_the_session_read_back_to_the_annotation_it_applied()
    {
        var rig = new Rig();
        var made = new List<ClinicalAnnotation>
        {
            rig.Session.SetTarget("SCM L", new TargetSpec(TargetDirection.Below, 25, 20, 0.4, "SCM R", 30), 0),
            rig.Session.SetTarget("UT R", null, 0),
            rig.Session.Outcome("tsui", 7, 0),
            rig.Session.Mark("sensory trick", 0),
        };
        made.AddRange(rig.Session.Reuse(new Dictionary<string, MuscleCalibration>
        {
            ["SCM L"] = new(4.25, 131.0 / 3, "m", new DateTimeOffset(2025, 12, 24, 10, 0, 0, TimeSpan.Zero)),
            ["SPL L"] = new(1, 2, "m", DateTimeOffset.UnixEpoch), // not in this montage: skipped
        }, 0));
        Assert.Equal(5, made.Count);
        Assert.All(made, a => Assert.Equal(a, ClinicalAnnotation.Parse(a.Text, a.Position, a.Duration)));
    }

    [Theory]
    [InlineData("target SCM L off")]
    [InlineData("trial 1 work")]
    [InlineData("calibration rest")]
    [InlineData("  sensory trick  ")]
    public void A_live_marker_means_what_its_text_reads_back_as_or_is_refused(string text)
    {
        // The offline analysis reads the marker's text from the recording: if it reads as something else (a target
        // cleared, a trial, a calibration window), live and offline disagree. A marker must either read back as the
        // same marker or be refused.
        var rig = new Rig();
        ClinicalAnnotation live;
        try
        {
            live = rig.Session.Mark(text, 100);
        }
        catch (SessionRuleException)
        {
            return;
        }
        Assert.Equal(live, ClinicalAnnotation.Parse(live.Text, live.Position, live.Duration));
    }
}
