using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// A work/rest protocol on sample time (ProtocolTemplate.Short at 1000 Hz: 10 s pre, 3 × (10 s work, 10 s rest),
/// 10 s post): its phase notices, its annotations at exact positions and durations; pause does not count the paused
/// time, abort keeps the done part.
/// </summary>
public sealed class ProtocolTests
{
    private const long L = 10_000; // every phase of Short at 1000 Hz
    private const string Baseline = "Sit still and relax; look straight ahead";
    private const string Work = "Work: contract as trained";
    private const string Rest = "Rest: let the muscles go";

    private static readonly Func<long, int, Env> Quiet = Rig.Constant(5);

    private static (PhaseKind, int, int, double, string, long)[] Phases(Rig rig) =>
        rig.Notices.Where(n => n.Kind == NoticeKind.ProtocolPhase)
            .Select(n => (n.Phase, n.Trial, n.Trials, n.SecondsLeft, n.Instruction, n.Position)).ToArray();

    private static (string, long, long)[] Annotations(Rig rig) => rig.Annotations.Select(a => (a.Text, a.Position, a.Duration)).ToArray();

    [Fact]
    public void Short_template_has_the_documented_phases_in_samples()
    {
        var phases = ProtocolTemplate.Short.Phases(1000);
        Assert.Equal(
            new[]
            {
                (PhaseKind.BaselinePre, 0, L), (PhaseKind.Work, 1, L), (PhaseKind.Rest, 1, L), (PhaseKind.Work, 2, L), (PhaseKind.Rest, 2, L),
                (PhaseKind.Work, 3, L), (PhaseKind.Rest, 3, L), (PhaseKind.BaselinePost, 0, L),
            },
            phases.Select(p => (p.Kind, p.Trial, p.Samples)).ToArray());
        Assert.Equal(["baseline pre", "trial 1 work", "trial 1 rest", "trial 2 work", "trial 2 rest", "trial 3 work", "trial 3 rest", "baseline post"],
            phases.Select(p => p.AnnotationText).ToArray());
        ProtocolTemplate.Short.Validate();
        ProtocolTemplate.Default.Validate();
    }

    [Fact]
    public void A_full_run_announces_each_phase_with_trial_seconds_left_and_instruction()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        Assert.Equal("Protocol cd-3x10", rig.Session.Running);
        rig.FeedUntil(8 * L + 1_000, Quiet);
        Assert.Null(rig.Session.Running);
        Assert.Equal(
            new[]
            {
                (PhaseKind.BaselinePre, 0, 3, 10.0, Baseline, 0L),
                (PhaseKind.Work, 1, 3, 10.0, Work, L), (PhaseKind.Rest, 1, 3, 10.0, Rest, 2 * L),
                (PhaseKind.Work, 2, 3, 10.0, Work, 3 * L), (PhaseKind.Rest, 2, 3, 10.0, Rest, 4 * L),
                (PhaseKind.Work, 3, 3, 10.0, Work, 5 * L), (PhaseKind.Rest, 3, 3, 10.0, Rest, 6 * L),
                (PhaseKind.BaselinePost, 0, 3, 10.0, Baseline, 7 * L),
                (PhaseKind.Done, 0, 3, 0.0, "", 8 * L),
            },
            Phases(rig));
        var work2 = rig.Notices.Single(n => n.Kind == NoticeKind.ProtocolPhase && n.Phase == PhaseKind.Work && n.Trial == 2);
        Assert.Equal("Trial 2 of 3: work", work2.Message);
    }

    [Fact]
    public void A_full_run_writes_each_phase_as_an_annotation_at_its_exact_position_and_length()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        rig.FeedUntil(8 * L + 1_000, Quiet);
        Assert.Equal(
            new[]
            {
                ("protocol cd-3x10 start", 0L, 0L),
                ("baseline pre", 0L, L),
                ("trial 1 work", L, L), ("trial 1 rest", 2 * L, L),
                ("trial 2 work", 3 * L, L), ("trial 2 rest", 4 * L, L),
                ("trial 3 work", 5 * L, L), ("trial 3 rest", 6 * L, L),
                ("baseline post", 7 * L, L),
                ("protocol cd-3x10 end", 8 * L, 0L),
            },
            Annotations(rig));
        Assert.Equal(Annotations(rig), rig.Session.Applied.Select(a => (a.Text, a.Position, a.Duration)).ToArray());
        Assert.All(rig.Annotations.Where(a => a.Text.StartsWith("trial", StringComparison.Ordinal)), a => Assert.Equal(ClinicalAnnotationKind.Trial, a.Kind));
    }

    [Fact]
    public void A_protocol_started_mid_stream_runs_from_its_own_position()
    {
        var rig = new Rig();
        rig.FeedUntil(3_333, Quiet);
        long start = rig.Session.NextPosition;
        Assert.Equal(3_320, start);
        rig.Session.StartProtocol(ProtocolTemplate.Short, start);
        rig.FeedUntil(start + 8 * L + 1_000, Quiet);
        var a = Annotations(rig);
        Assert.Equal(("baseline pre", start, L), a[1]);
        Assert.Equal(("trial 3 rest", start + 6 * L, L), a[7]);
        Assert.Equal(("protocol cd-3x10 end", start + 8 * L, 0L), a[^1]);
    }

    [Fact]
    public void Paused_time_is_not_counted_and_the_interrupted_phase_gives_two_annotations_summing_to_its_length()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        rig.FeedUntil(25_000, Quiet);
        rig.Session.Pause(25_000);
        Assert.Throws<SessionStateException>(() => rig.Session.Pause(25_000));
        rig.FeedUntil(40_000, Quiet); // 15 s paused
        rig.Session.Resume(40_000);
        Assert.Throws<SessionStateException>(() => rig.Session.Resume(40_000));
        rig.FeedUntil(100_000, Quiet);
        Assert.Null(rig.Session.Running);

        Assert.Equal(
            new[]
            {
                ("protocol cd-3x10 start", 0L, 0L),
                ("baseline pre", 0L, L),
                ("trial 1 work", L, L),
                ("trial 1 rest", 2 * L, 5_000L),
                ("protocol cd-3x10 pause", 25_000L, 0L),
                ("protocol cd-3x10 resume", 40_000L, 0L),
                ("trial 1 rest", 40_000L, 5_000L),
                ("trial 2 work", 45_000L, L), ("trial 2 rest", 55_000L, L),
                ("trial 3 work", 65_000L, L), ("trial 3 rest", 75_000L, L),
                ("baseline post", 85_000L, L),
                ("protocol cd-3x10 end", 95_000L, 0L),
            },
            Annotations(rig));

        var phases = Phases(rig);
        Assert.Contains((PhaseKind.Rest, 1, 3, 5.0, "Paused", 25_000L), phases);
        Assert.Contains((PhaseKind.Rest, 1, 3, 5.0, Rest, 40_000L), phases); // resumed with what was left
        Assert.Equal((PhaseKind.Done, 0, 3, 0.0, "", 95_000L), phases[^1]);

        // The summary pools both parts of trial 1's rest: 10 s of frames, none of the paused ones.
        SessionSummary s = SessionAnalysis.Summarize(rig.Session, Info);
        TrialSummary t1 = s.Trials.Single(t => t.N == 1);
        Assert.Equal(10 * Rig.FramesPerSecond, t1.Rest["SCM L"].ValidFrames);
        Assert.Equal(10 * Rig.FramesPerSecond, t1.Work["SCM L"].ValidFrames);
    }

    [Fact]
    public void Pause_at_a_phase_boundary_leaves_no_empty_annotation()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        rig.FeedUntil(2 * L, Quiet);
        rig.Session.Pause(2 * L);
        rig.FeedUntil(2 * L + 5_000, Quiet);
        rig.Session.Resume(2 * L + 5_000);
        rig.FeedUntil(2 * L + 5_000 + L + 100, Quiet);
        var a = Annotations(rig);
        Assert.DoesNotContain(a, x => x.Item3 == 0 && !x.Item1.StartsWith("protocol", StringComparison.Ordinal));
        Assert.Equal(("trial 1 work", L, L), a[2]);
        Assert.Contains(("trial 1 rest", 2 * L + 5_000, L), a);
    }

    [Fact]
    public void Abort_keeps_the_done_part_of_the_phase_and_ends_the_run()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        rig.FeedUntil(35_000, Quiet);
        rig.Session.Abort(35_000);
        Assert.Null(rig.Session.Running);
        Assert.Throws<SessionStateException>(() => rig.Session.Abort(35_000));
        rig.FeedUntil(100_000, Quiet);
        Assert.Equal(
            new[]
            {
                ("protocol cd-3x10 start", 0L, 0L),
                ("baseline pre", 0L, L),
                ("trial 1 work", L, L), ("trial 1 rest", 2 * L, L),
                ("trial 2 work", 3 * L, 5_000L),
                ("protocol cd-3x10 abort", 35_000L, 0L),
            },
            Annotations(rig));
        Assert.Equal((PhaseKind.Done, 35_000L), Phases(rig).Select(p => (p.Item1, p.Item6)).Last());

        SessionSummary s = SessionAnalysis.Summarize(rig.Session, Info);
        Assert.Equal([1, 2], s.Trials.Select(t => t.N));
        Assert.Equal(5 * Rig.FramesPerSecond, s.Trials[1].Work["SCM L"].ValidFrames);
        Assert.Equal(0, s.Trials[1].Rest["SCM L"].ValidFrames);
    }

    [Fact]
    public void Abort_while_paused_adds_no_second_part()
    {
        var rig = new Rig();
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        rig.FeedUntil(25_000, Quiet);
        rig.Session.Pause(25_000);
        rig.FeedUntil(30_000, Quiet);
        rig.Session.Abort(30_000);
        rig.FeedUntil(50_000, Quiet);
        var a = Annotations(rig);
        Assert.Single(a, x => x.Item1 == "trial 1 rest");
        Assert.Equal(("trial 1 rest", 2 * L, 5_000L), a.Single(x => x.Item1 == "trial 1 rest"));
        Assert.Equal(("protocol cd-3x10 abort", 30_000L, 0L), a[^1]);
    }

    [Fact]
    public void Pause_and_resume_without_a_protocol_are_refused()
    {
        var rig = new Rig();
        Assert.Throws<SessionStateException>(() => rig.Session.Pause(0));
        Assert.Throws<SessionStateException>(() => rig.Session.Resume(0));
        rig.Session.StartProtocol(ProtocolTemplate.Short, 0);
        Assert.Throws<SessionStateException>(() => rig.Session.StartProtocol(ProtocolTemplate.Short, 0));
        Assert.Throws<SessionStateException>(() => rig.Session.StartCalibration(CalibrationStep.Rest, null, 0));
    }

    [Theory]
    [InlineData("bad name!", 10, 3, 10, 10, 10, "name")]
    [InlineData("x", -1, 3, 10, 10, 10, "pre_baseline_seconds")]
    [InlineData("x", 10, 0, 10, 10, 10, "trials")]
    [InlineData("x", 10, 101, 10, 10, 10, "trials")]
    [InlineData("x", 10, 3, 0.5, 10, 10, "work_seconds")]
    [InlineData("x", 10, 3, 10, 601, 10, "rest_seconds")]
    [InlineData("x", 10, 3, 10, 10, double.NaN, "post_baseline_seconds")]
    public void Template_validation_names_the_field(string name, double pre, int trials, double work, double rest, double post, string field)
    {
        var e = Assert.Throws<SessionRuleException>(() => new ProtocolTemplate(name, pre, trials, work, rest, post).Validate());
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void A_template_without_baselines_has_only_trials()
    {
        var t = new ProtocolTemplate("nb", 0, 2, 3, 4, 0);
        Assert.Equal([PhaseKind.Work, PhaseKind.Rest, PhaseKind.Work, PhaseKind.Rest], t.Phases(1000).Select(p => p.Kind));
        var rig = new Rig();
        rig.Session.StartProtocol(t, 0);
        rig.FeedUntil(15_000, Quiet);
        Assert.Equal(("trial 1 work", 0L, 3_000L), Annotations(rig)[1]);
        Assert.Equal(("protocol nb end", 14_000L, 0L), Annotations(rig)[^1]);
    }

    private static SessionInfo Info => new("s1", "P001", "station-1", DateTimeOffset.UnixEpoch, "test");
}
